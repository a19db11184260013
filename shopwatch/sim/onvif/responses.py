"""Device, Media and Media2 answers of the simulated device, element for element as in the ONVIF WSDLs
(devicemgmt.wsdl, media.wsdl, ver20/media/wsdl/media.wsdl, schema onvif.xsd)."""

from __future__ import annotations

from datetime import datetime

from lxml import etree

from shopwatch.onvif.soap import TDS, TEV, TR2, TRT, TT, element, sub
from shopwatch.sim.onvif.device import SimDevice, SimProfile

SERVICE_PATHS = {
    TDS: "/onvif/device_service",
    TRT: "/onvif/media_service",
    TR2: "/onvif/media2_service",
    TEV: "/onvif/events_service",
}


def _version(parent: etree._Element, ns: str, major: int, minor: int) -> None:
    version = sub(parent, ns, "Version")
    sub(version, TT, "Major", str(major))
    sub(version, TT, "Minor", str(minor))


def _date_time(parent: etree._Element, name: str, moment: datetime) -> None:
    holder = sub(parent, TT, name)
    t = sub(holder, TT, "Time")
    sub(t, TT, "Hour", str(moment.hour))
    sub(t, TT, "Minute", str(moment.minute))
    sub(t, TT, "Second", str(moment.second))
    d = sub(holder, TT, "Date")
    sub(d, TT, "Year", str(moment.year))
    sub(d, TT, "Month", str(moment.month))
    sub(d, TT, "Day", str(moment.day))


def system_date_and_time(device: SimDevice) -> etree._Element:
    body = element(TDS, "GetSystemDateAndTimeResponse")
    info = sub(body, TDS, "SystemDateAndTime")
    sub(info, TT, "DateTimeType", "Manual")
    sub(info, TT, "DaylightSavings", "false")
    sub(sub(info, TT, "TimeZone"), TT, "TZ", "UTC0")
    now = device.now()
    _date_time(info, "UTCDateTime", now)
    _date_time(info, "LocalDateTime", now)
    return body


def device_information(device: SimDevice) -> etree._Element:
    spec = device.spec
    body = element(TDS, "GetDeviceInformationResponse")
    for name, value in (
        ("Manufacturer", spec.manufacturer),
        ("Model", spec.model),
        ("FirmwareVersion", spec.firmware),
        ("SerialNumber", spec.serial),
        ("HardwareId", spec.hardware),
    ):
        sub(body, TDS, name, value)
    return body


def _offered(device: SimDevice) -> list[str]:
    namespaces = [TDS, TRT]
    if device.spec.media2:
        namespaces.append(TR2)
    if device.spec.events:
        namespaces.append(TEV)
    return namespaces


def services(device: SimDevice) -> etree._Element:
    body = element(TDS, "GetServicesResponse")
    for ns in _offered(device):
        service = sub(body, TDS, "Service")
        sub(service, TDS, "Namespace", ns)
        own = device.base_url + SERVICE_PATHS[ns]
        sub(service, TDS, "XAddr", (device.spec.reported_media2_url or own) if ns == TR2 else own)
        _version(service, TDS, 2, 60)
    return body


def capabilities(device: SimDevice) -> etree._Element:
    body = element(TDS, "GetCapabilitiesResponse")
    caps = sub(body, TDS, "Capabilities")
    sub(sub(caps, TT, "Device"), TT, "XAddr", device.base_url + SERVICE_PATHS[TDS])
    if device.spec.events:
        events = sub(caps, TT, "Events")
        sub(events, TT, "XAddr", device.base_url + SERVICE_PATHS[TEV])
        sub(events, TT, "WSSubscriptionPolicySupport", "false")
        sub(events, TT, "WSPullPointSupport", "true")
        sub(events, TT, "WSPausableSubscriptionManagerInterfaceSupport", "false")
    media = sub(caps, TT, "Media")
    sub(media, TT, "XAddr", device.base_url + SERVICE_PATHS[TRT])
    streaming = sub(media, TT, "StreamingCapabilities")
    for name, value in (("RTPMulticast", "false"), ("RTP_TCP", "true"), ("RTP_RTSP_TCP", "true")):
        sub(streaming, TT, name, value)
    return body


def scopes(device: SimDevice) -> etree._Element:
    body = element(TDS, "GetScopesResponse")
    for uri in scope_uris(device):
        scope = sub(body, TDS, "Scopes")
        sub(scope, TT, "ScopeDef", "Fixed")
        sub(scope, TT, "ScopeItem", uri)
    return body


def scope_uris(device: SimDevice) -> list[str]:
    spec = device.spec
    return [
        "onvif://www.onvif.org/type/video_encoder",
        "onvif://www.onvif.org/Profile/Streaming",
        f"onvif://www.onvif.org/name/{spec.name.replace(' ', '_')}",
        f"onvif://www.onvif.org/hardware/{spec.model}",
        f"onvif://www.onvif.org/location/{spec.location}",
    ]


# -- Media (ver10) -------------------------------------------------------------------------------------------


def _media1_profile(parent: etree._Element, profile: SimProfile) -> None:
    el = sub(parent, TRT, "Profiles", token=profile.token, fixed="true")
    sub(el, TT, "Name", profile.name)
    vsc = sub(el, TT, "VideoSourceConfiguration", token="VSC_1")
    sub(vsc, TT, "Name", "VideoSource_1")
    sub(vsc, TT, "UseCount", "1")
    sub(vsc, TT, "SourceToken", "VS_1")
    sub(vsc, TT, "Bounds", x="0", y="0", width=str(profile.width), height=str(profile.height))
    vec = sub(el, TT, "VideoEncoderConfiguration", token=f"VEC_{profile.token}")
    sub(vec, TT, "Name", f"{profile.encoding}_{profile.token}")
    sub(vec, TT, "UseCount", "1")
    # Media 1's enumeration has no H265; cameras that stream H.265 still write it here (Hikvision, Dahua).
    sub(vec, TT, "Encoding", profile.encoding)
    resolution = sub(vec, TT, "Resolution")
    sub(resolution, TT, "Width", str(profile.width))
    sub(resolution, TT, "Height", str(profile.height))
    sub(vec, TT, "Quality", "4")
    rate = sub(vec, TT, "RateControl")
    sub(rate, TT, "FrameRateLimit", str(profile.fps))
    sub(rate, TT, "EncodingInterval", "1")
    sub(rate, TT, "BitrateLimit", str(profile.bitrate_kbps))
    sub(vec, TT, "SessionTimeout", "PT60S")
    if profile.audio_output:
        ext = sub(el, TT, "Extension")
        aoc = sub(ext, TT, "AudioOutputConfiguration", token="AOC_1")
        sub(aoc, TT, "Name", "AudioOutput_1")
        sub(aoc, TT, "UseCount", "1")
        sub(aoc, TT, "OutputToken", "AO_1")
        sub(aoc, TT, "OutputLevel", "80")
        adc = sub(ext, TT, "AudioDecoderConfiguration", token="ADC_1")
        sub(adc, TT, "Name", "AudioDecoder_1")
        sub(adc, TT, "UseCount", "1")


def media_profiles(device: SimDevice) -> etree._Element:
    body = element(TRT, "GetProfilesResponse")
    for profile in device.spec.profiles:
        _media1_profile(body, profile)
    return body


def _media_uri(ns: str, response: str, uri: str, media1: bool) -> etree._Element:
    body = element(ns, response)
    if not media1:
        sub(body, TR2, "Uri", uri)
        return body
    media_uri = sub(body, TRT, "MediaUri")
    sub(media_uri, TT, "Uri", uri)
    sub(media_uri, TT, "InvalidAfterConnect", "false")
    sub(media_uri, TT, "InvalidAfterReboot", "false")
    sub(media_uri, TT, "Timeout", "PT0S")
    return body


def stream_uri(profile: SimProfile, media1: bool) -> etree._Element:
    ns = TRT if media1 else TR2
    return _media_uri(ns, "GetStreamUriResponse", profile.stream_url, media1)


def snapshot_uri(device: SimDevice, profile: SimProfile, media1: bool) -> etree._Element:
    ns = TRT if media1 else TR2
    url = device.spec.reported_snapshot_url or f"{device.base_url}/snapshot/{profile.token}.jpg"
    return _media_uri(ns, "GetSnapshotUriResponse", url, media1)


def audio_outputs(device: SimDevice) -> etree._Element:
    body = element(TRT, "GetAudioOutputsResponse")
    for index in range(1, device.spec.audio_outputs + 1):
        sub(body, TRT, "AudioOutputs", token=f"AO_{index}")
    return body


# -- Media2 (ver20) ------------------------------------------------------------------------------------------


def media2_profiles(device: SimDevice) -> etree._Element:
    body = element(TR2, "GetProfilesResponse")
    for profile in device.spec.profiles:
        el = sub(body, TR2, "Profiles", token=profile.token, fixed="true")
        sub(el, TR2, "Name", profile.name)
        configs = sub(el, TR2, "Configurations")
        vsc = sub(configs, TR2, "VideoSource", token="VSC_1")
        sub(vsc, TT, "Name", "VideoSource_1")
        sub(vsc, TT, "UseCount", "1")
        sub(vsc, TT, "SourceToken", "VS_1")
        sub(vsc, TT, "Bounds", x="0", y="0", width=str(profile.width), height=str(profile.height))
        vec = sub(configs, TR2, "VideoEncoder", token=f"VEC_{profile.token}", GovLength="24", Profile="Main")
        sub(vec, TT, "Name", f"{profile.encoding}_{profile.token}")
        sub(vec, TT, "UseCount", "1")
        sub(vec, TT, "Encoding", profile.encoding)
        resolution = sub(vec, TT, "Resolution")
        sub(resolution, TT, "Width", str(profile.width))
        sub(resolution, TT, "Height", str(profile.height))
        rate = sub(vec, TT, "RateControl", ConstantBitRate="false")
        sub(rate, TT, "FrameRateLimit", str(profile.fps))
        sub(rate, TT, "BitrateLimit", str(profile.bitrate_kbps))
        sub(vec, TT, "Quality", "4")
        if profile.audio_output:
            aoc = sub(configs, TR2, "AudioOutput", token="AOC_1")
            sub(aoc, TT, "Name", "AudioOutput_1")
            sub(aoc, TT, "UseCount", "1")
            sub(aoc, TT, "OutputToken", "AO_1")
            sub(aoc, TT, "OutputLevel", "80")
            adc = sub(configs, TR2, "AudioDecoder", token="ADC_1")
            sub(adc, TT, "Name", "AudioDecoder_1")
            sub(adc, TT, "UseCount", "1")
    return body
