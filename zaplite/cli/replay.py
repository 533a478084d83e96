"""``zaplite replay``: run failed tasks again from their stored record."""

from __future__ import annotations

import click

from zaplite.cli.common import (
    console,
    run_async,
    setup_logging,
    verbose_option,
    with_workspace,
    workspace_options,
)
from zaplite.engine.replay import failed_task_ids, replay_task, replayable_task
from zaplite.engine.run import Engine
from zaplite.errors import UsageError
from zaplite.project.workspace import Workspace

__all__ = ["COMMANDS"]


@click.command()
@workspace_options
@click.argument("task_ids", nargs=-1, type=int)
@click.option("--zap", "zap_id", help="Replay tasks of this zap (with --failed).")
@click.option("--failed", is_flag=True, help="Replay every failed task (of --zap, or of all zaps).")
@click.option(
    "--force", is_flag=True, help="Also replay tasks that succeeded (their record is sent again)."
)
@verbose_option
@with_workspace
def replay(
    workspace: Workspace,
    task_ids: tuple[int, ...],
    zap_id: str | None,
    failed: bool,
    force: bool,
    verbose: int,
) -> None:
    """Run tasks again from their stored record: TASK_ID... or --zap ID --failed (exit 1 if any still fails)."""
    setup_logging(verbose, workspace.config.settings.log_file, workspace.config.path)
    if not task_ids and not failed:
        raise UsageError("Name the tasks to replay (TASK_ID...) or use --failed (with --zap ID).")
    ids = list(task_ids)
    for task_id in ids:  # checked before anything is sent
        replayable_task(workspace.store, task_id, force=force)
    engine = Engine.for_workspace(workspace)
    if failed:
        if zap_id:
            workspace.zap(zap_id)
        ids.extend(failed_task_ids(engine, zap_id))
    if not ids:
        console.print("There are no failed tasks to replay.")
        return

    async def go() -> list[tuple[int, str]]:
        try:
            return [
                (task_id, await replay_task(engine, task_id, workspace.zaps, force=force))
                for task_id in ids
            ]
        finally:
            await engine.connections.close()

    outcomes = run_async(go())
    still_failing = 0
    for task_id, status in outcomes:
        task = workspace.store.get_task(task_id)
        detail = f": {task.error}" if task and task.error else ""
        console.print(f"task {task_id}: {status}{detail}", markup=False)
        still_failing += status == "failed"
    if still_failing:
        raise click.exceptions.Exit(1)


COMMANDS = [replay]
