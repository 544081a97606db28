"""Process-wide concerns, set up once: dependencies' telemetry off (:mod:`~vcam.system.telemetry`,
imported first), native libraries' logs (:mod:`~vcam.system.native_logs`), the signals that stop
vcam (:mod:`~vcam.system.signals`), closed or cut terminals (:mod:`~vcam.system.terminal`), where
bundled files and the cache are (:mod:`~vcam.system.resources`), which native packages are
installed (:mod:`~vcam.system.packages`) and what Qt needs before it starts
(:mod:`~vcam.system.qtenv`).
"""
