"""Scale-out on Ray (``shopwatch serve --ray ADDRESS``): ingest shards as detached Ray actors, their supervisor on
the head, events written by the shards straight to the database. Only ``serve --ray`` imports ``ray``
(``cluster/actor.py`` and ``cluster/ray_fleet.py``); the rest of this package is plain Python."""
