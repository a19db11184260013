"""The ONVIF device simulator: Device, Media, Media2 and Events (PullPoint) services with WS-Security, clock
skew and WS-Discovery answers, speaking the SOAP messages of the ONVIF WSDLs so unmodified clients talk to it."""
