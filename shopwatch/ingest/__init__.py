"""RTSP reading, activity gating, packet ring buffer, worker processes and camera health."""
