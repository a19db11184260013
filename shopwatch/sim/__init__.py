"""Simulated cameras for the demo and the tests. Never imported by production code.

``clips`` renders H.264 shop-front clips, ``rtsp_server.SimServer`` serves them (with drop/hang/auth faults),
``fleet.SimFleet`` names a fleet and writes its config, ``faults`` has a garbage-answering port and a closed one,
``process.SimProcess`` runs ``python -m shopwatch.sim`` as a killable child, ``demo.demo_fleet`` serves the
demo config's loopback cameras (RTSP streams and ONVIF devices) and ``demo.onboard_fleet`` onboards them.
"""
