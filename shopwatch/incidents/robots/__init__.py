"""Group-chat robots as alert channels: the vendors' wire formats and signatures (``wire``), the Chinese
message (``message``), the per-robot rate (``rate``) and the sender that merges a burst into digests (``sender``)."""
