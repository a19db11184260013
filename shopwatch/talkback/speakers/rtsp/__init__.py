"""ONVIF audio backchannel over RTSP: a sans-IO core (``messages``, ``sdp``, ``client``) and its asyncio adapter
(``backchannel``)."""
