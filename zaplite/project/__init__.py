"""The project room: what the user wrote, and how it is read.

- :mod:`zaplite.project.config`: ``zaplite.toml`` (store, connections, settings).
- :mod:`zaplite.project.zapfile`: the zap files' model and how they are loaded.
- :mod:`zaplite.project.durations`: durations and instants as users write them.
- :mod:`zaplite.project.binding`: a zap bound to the installed apps, its params checked.
- :mod:`zaplite.project.connections`: connection settings validated, clients opened once.
- :mod:`zaplite.project.workspace`: all of the above, loaded together for a command.
- :mod:`zaplite.project.examples`: the example zaps shipped with zaplite.
"""
