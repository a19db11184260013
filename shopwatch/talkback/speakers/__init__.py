"""The wire protocols of camera speakers, one module per protocol or vendor, each a ``SpeakerLink``.

``rtsp`` is the ONVIF RTSP audio backchannel, ``isapi`` Hikvision's two-way audio, ``dahua`` Dahua's
``audio.cgi``; ``digest`` signs their requests (HTTP/RTSP Basic and Digest) and ``rtp`` frames G.711 for RTSP.
Nothing here knows about sessions, policy or the API: the service drives a link through ``player.talk``."""
