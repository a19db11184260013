"""Settings of the monthly case-analysis report (``report``): the station named in its title, the Chromium that
prints it as a PDF, and when a card-posting hot spot is worth an automatic warning rather than a patrol alone."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ReportSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    station_name: str = Field(
        "", max_length=100, description="The station's name at the head of the monthly report (e.g. 长街派出所); "
        "empty: no name.",
    )  # fmt: skip
    chromium: str | None = Field(
        None, min_length=1, max_length=500, description="Chromium (or Chrome) executable that prints the PDF "
        "report; null: chromium, chromium-browser or google-chrome found on PATH.",
    )  # fmt: skip
    pdf_timeout_s: float = Field(60.0, gt=0, le=600, description="Longest wait for Chromium to print the PDF.")
    deterrence_from: int = Field(
        4, ge=2, le=1000, description="Card postings in a month on one camera's surface from which the report "
        "suggests automatic warnings there (if its speaker may play and no rule warns there yet).",
    )  # fmt: skip
    precision_rows: int = Field(
        50, ge=1, le=5000, description="Cameras listed in the report's precision table, the least precise first "
        "(the full list is in GET /api/stats/export).",
    )  # fmt: skip
