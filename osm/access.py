"""Who may use a way in which direction: walk, bike, drive (OSM access tags)."""

from __future__ import annotations

from dataclasses import dataclass

NO_WALK_CLASSES = frozenset({"motorway", "motorway_link"})
NO_BIKE_CLASSES = frozenset({"motorway", "motorway_link"})
_NO = frozenset({"no", "private"})
_YES = frozenset({"yes", "true", "1"})
_SIDEWALK = frozenset({"separate", "yes", "both", "left", "right"})
_CYCLE_TRACK = frozenset({"separate", "track"})


@dataclass(frozen=True)
class Access:
    walk: bool
    bike_fwd: bool
    bike_back: bool
    drive_fwd: bool
    drive_back: bool
    oneway: int  # 1 along the way, -1 against, 0 both


def oneway_of(tags: dict) -> int | None:
    """1 / -1 / 0 for the way's direction rule; None for reversible (time-dependent)."""
    value = (tags.get("oneway") or "").strip().lower()
    if value == "reversible" or value == "alternating":
        return None
    if value == "-1":
        return -1
    if value in _YES:
        return 1
    if value == "no":
        return 0
    # Implied one-way: roundabouts and (in OSM's convention) motorways.
    if tags.get("junction") in ("roundabout", "circular"):
        return 1
    if tags.get("highway") in ("motorway", "motorway_link"):
        return 1
    return 0


def bike_contraflow(tags: dict) -> bool:
    """Whether cyclists may ride a one-way street against its direction."""
    if (tags.get("oneway:bicycle") or "").lower() == "no":
        return True
    for key in ("cycleway", "cycleway:left", "cycleway:right", "cycleway:both"):
        if (tags.get(key) or "").lower().startswith("opposite"):
            return True
    for side in ("left", "right", "both"):
        if (tags.get(f"cycleway:{side}:oneway") or "").lower() in ("-1", "no"):
            return True
    return False


def _beside(tags: dict, prefix: str, values: frozenset) -> bool:
    """A sidewalk / cycleway mapped along the way (``prefix``, ``prefix:both``...)."""
    return any(
        (tags.get(key) or "").lower() in values
        for key in (prefix, f"{prefix}:both", f"{prefix}:left", f"{prefix}:right")
    )


def access_of(tags: dict) -> Access:
    """Who may use a way in which direction (walk, bike, drive).

    The extract has no footways or cycleways. A road closed to pedestrians or
    cyclists but with a sidewalk or cycle track mapped beside it (the University
    Bridge: ``foot=no`` + ``sidewalk:both=separate``) stays usable: the route
    follows the road and the person uses what runs beside it.
    """
    highway = tags.get("highway", "")
    oneway = oneway_of(tags)
    reversible = oneway is None
    walk = (
        highway not in NO_WALK_CLASSES
        and (
            (tags.get("foot") or "").lower() not in _NO
            or _beside(tags, "sidewalk", _SIDEWALK)
        )
        and not reversible
    )
    bike_ok = (
        highway not in NO_BIKE_CLASSES
        and (
            (tags.get("bicycle") or "").lower() not in _NO
            or _beside(tags, "cycleway", _CYCLE_TRACK)
        )
        and not reversible
    )
    drive_ok = (
        (tags.get("motor_vehicle") or "").lower() not in _NO
        and (tags.get("motorcar") or "").lower() not in _NO
        and not reversible
    )
    direction = oneway or 0
    contra = bike_contraflow(tags)
    return Access(
        walk=walk,
        bike_fwd=bike_ok and (direction != -1 or contra),
        bike_back=bike_ok and (direction != 1 or contra),
        drive_fwd=drive_ok and direction != -1,
        drive_back=drive_ok and direction != 1,
        oneway=direction,
    )
