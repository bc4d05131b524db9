"""Runtime hook: Chroma imports OpenTelemetry's gRPC span exporter when its telemetry module
loads, and uses it only when an OTLP endpoint is configured, which Folio never does. The frozen
program leaves the exporter and gRPC out (about 20 MB); this puts an exporter in its place that
refuses to be created, so spans can never be sent anywhere from Folio."""

import sys
import types

_NAME = "opentelemetry.exporter.otlp.proto.grpc.trace_exporter"


class OTLPSpanExporter:
    def __init__(self, *args: object, **kwargs: object) -> None:
        raise RuntimeError("Folio does not export telemetry; this program has no OTLP exporter.")


def _install() -> None:
    parts = _NAME.split(".")
    for depth in range(2, len(parts) + 1):
        name = ".".join(parts[:depth])
        if name in sys.modules:
            continue
        module = types.ModuleType(name)
        if depth < len(parts):
            module.__path__ = []
        sys.modules[name] = module
    sys.modules[_NAME].OTLPSpanExporter = OTLPSpanExporter


_install()
