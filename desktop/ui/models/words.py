"""What the Models window says about a model and a download, beyond the shared formatters.

Sizes are decimal (1 GB = 10⁹ bytes) throughout, as file managers show them, so the weights in
the memory line and the Size column agree (``desktop.core.formatting``).
"""

from __future__ import annotations

from desktop.core.formatting import amount_text, size_text, speed_text, time_left_text
from desktop.core.models.catalog import CatalogFit
from desktop.core.models.download import DownloadProgress
from desktop.core.models.memory import MemoryEstimate
from desktop.core.models.registry import Fit, ModelEntry, fit_of

FIT_TEXT = {Fit.FITS: "Fits", Fit.TIGHT: "Tight", Fit.WONT_FIT: "Won't fit"}
# Theme colour names (desktop.ui.appearance) of each verdict: calm green, amber, red.
FIT_COLOURS = {Fit.FITS: "success", Fit.TIGHT: "warning_text", Fit.WONT_FIT: "danger"}
FIT_ADVICE = {
    Fit.FITS: "",
    Fit.TIGHT: "It loads, but leaves little memory for the rest of the computer.",
    Fit.WONT_FIT: (
        "Close other programs, choose a smaller quantization, or lower the context length in "
        "the settings."
    ),
}


# How an estimate made from the catalog, before the file is here, begins.
BEFORE_DOWNLOAD = "Estimated before download: needs about"
KV_GUESSED = "The KV cache is guessed from the file size."


def describe_memory(entry: ModelEntry) -> str:
    """The estimate spelled out, so that “Won't fit” can be checked rather than believed."""
    return describe_estimate(entry.estimate, entry.context_for_estimate)


def describe_catalog_fit(catalog_fit: CatalogFit) -> str:
    """The same for a model not downloaded yet, said to be an estimate (and, without the
    model's shape in the catalog, that its KV cache is a guess)."""
    said = describe_estimate(catalog_fit.estimate, catalog_fit.context, BEFORE_DOWNLOAD)
    if not catalog_fit.shape_known:
        said += (
            f"\n{KV_GUESSED[:-1]}: the catalog does not give the model's layers and heads. The "
            "Installed tab shows the exact figure once the model is downloaded."
        )
    return said


def describe_estimate(estimate: MemoryEstimate, context: int, lead: str = "Needs about") -> str:
    """“Needs about 1.4 GB (weights … + KV cache … at 4,096 tokens + overhead …); 8.0 GB free
    now → Fits”."""
    # One unit for the whole sum, so that its parts visibly add up.
    scale, unit, digits = (
        (1e9, "GB", 1) if estimate.required_bytes >= 1_000_000_000 else (1e6, "MB", 0)
    )

    def amount(size: int) -> str:
        return f"{size / scale:,.{digits}f} {unit}"

    return (
        f"{lead} {amount(estimate.required_bytes)} "
        f"(weights {amount(estimate.weights_bytes)} + KV cache {amount(estimate.kv_cache_bytes)} "
        f"at {context:,} tokens + overhead {amount(estimate.overhead_bytes)}); "
        f"{size_text(estimate.available_bytes)} free now → {FIT_TEXT[fit_of(estimate)]}"
    )


def describe_transfer(progress: DownloadProgress) -> str:
    """“312 of 480 MB · 4.2 MB/s · about 40 s left”."""
    parts = [amount_text(progress.received_bytes, progress.total_bytes)]
    if progress.bytes_per_second > 0:
        parts.append(speed_text(progress.bytes_per_second))
    if progress.total_bytes:
        parts.append(time_left_text(progress.seconds_left))
    return " · ".join(parts)


def kind_text(entry: ModelEntry) -> str:
    return "Embedding" if entry.is_embedding_model else "Chat"


def use_text(purposes: tuple[str, ...]) -> str:
    """“In use for chat and documents”, or "" for a model in no use."""
    return f"In use for {' and '.join(purposes)}" if purposes else ""
