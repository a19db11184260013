"""Talk back through shop speakers: audio sources, G.711/RTP, and one module per speaker protocol.

The interface other packages use is ``session.talk`` with a ``target.TalkTarget`` and an ``audio.AudioSource``;
the protocol modules (``rtsp/``, ``isapi``, ``dahua``) stay behind it.
"""
