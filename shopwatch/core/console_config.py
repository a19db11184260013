"""Settings of the operator console (``api.console``): the map's background.

The station's network is offline, so the map has no tile layer: either the station's own drawing of its streets
(``map.image``, a PNG, JPEG or SVG file, placed on the map by the latitudes and longitudes of its corners), or,
without one, each grid's outline: its drawn boundary (``map.grids``) or, for a grid not drawn, the box round its
cameras' locations."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class MapCorner(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    lat: float = Field(..., ge=-90, le=90, description="Latitude, WGS84 degrees.")
    lon: float = Field(..., ge=-180, le=180, description="Longitude, WGS84 degrees.")


class ConsoleMap(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    image: str | None = Field(
        None, min_length=1, max_length=4096,
        description="The station's own street plan (PNG, JPEG or SVG file) under the pins; null: the grids' "
        "outlines round their cameras.",
    )  # fmt: skip
    south_west: MapCorner | None = Field(None, description="Where the image's bottom-left corner lies.")
    north_east: MapCorner | None = Field(None, description="Where the image's top-right corner lies.")
    grids: dict[str, list[MapCorner]] = Field(
        default_factory=dict,
        description="Each grid's boundary as drawn by the station (at least 3 corners, in order), by grid name; "
        "shown when there is no image. A grid not named here is outlined by the box round its cameras.",
    )

    @model_validator(mode="after")
    def _corners_with_an_image(self) -> ConsoleMap:
        for grid, corners in self.grids.items():
            if len(corners) < 3:
                raise ValueError(f"map.grids.{grid}: a boundary needs at least 3 corners, found {len(corners)}")
        if self.image is None:
            return self
        if self.south_west is None or self.north_east is None:
            raise ValueError("map.image needs south_west and north_east: where its corners lie")
        if self.south_west.lat >= self.north_east.lat or self.south_west.lon >= self.north_east.lon:
            raise ValueError("map.south_west must be south and west of map.north_east")
        if not self.image.lower().endswith((".png", ".jpg", ".jpeg", ".svg")):
            raise ValueError("map.image must be a .png, .jpg, .jpeg or .svg file")
        return self


class ConsoleSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    map: ConsoleMap = Field(default_factory=ConsoleMap, description="The map's background.")
