"""RTSP without I/O, shared by ingest (the native reader) and talkback (the backchannel): messages, SDP, auth."""
