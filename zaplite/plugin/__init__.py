"""The plugin room: the hooks, the plugin-author API, the plugin manager, calling plugin code.

- :mod:`zaplite.plugin.hookspecs`: the hooks a plugin implements.
- :mod:`zaplite.plugin.api`: ``App``, ``Trigger``, ``Action``, ``Page`` and what else a
  plugin exchanges with the engine (re-exported by :mod:`zaplite`).
- :mod:`zaplite.plugin.manager`: finding plugins and collecting the apps they register.
- :mod:`zaplite.plugin.calls`: calling plugin functions, ``async def`` or plain.

Plugin authors import from :mod:`zaplite`; the modules here are internal.
"""
