"""The seven-group matrix (网格员、义警、物业、学校、串店、寄递物流、宾馆): which group chats' robots an event goes
to. Pure: ``incidents.community.rules`` match an event's type, grid and shop kind to groups; a group's robot
with ``grids`` takes only those grids' events (one 网格员 chat per grid)."""

from __future__ import annotations

from dataclasses import dataclass

from shopwatch.core.community_config import Community, GroupRule, Robot


@dataclass(frozen=True, slots=True)
class RobotTarget:
    group: str
    robot: Robot

    @property
    def target(self) -> str:
        """What the outbox row names (never the key): ``<group>/<robot>``."""
        return f"{self.group}/{self.robot.name}"


def _matches(rule: GroupRule, event_type: str, grid: str, merchant_kind: str) -> bool:
    return (
        (not rule.types or event_type in rule.types)
        and (not rule.grids or grid in rule.grids)
        and (not rule.merchant_kinds or merchant_kind in rule.merchant_kinds)
    )


class GroupMatrix:
    def __init__(self, community: Community) -> None:
        self._community = community
        self._groups = {g.name: g for g in community.groups}

    def groups_for(self, event_type: str, grid: str, merchant_kind: str) -> list[str]:
        """Every group some rule sends this event to, in rule order, each once."""
        found: list[str] = []
        for rule in self._community.rules:
            if _matches(rule, event_type, grid, merchant_kind):
                found += [g for g in rule.groups if g not in found]
        return found

    def robots_for(self, event_type: str, grid: str, merchant_kind: str) -> list[RobotTarget]:
        return [
            RobotTarget(name, robot)
            for name in self.groups_for(event_type, grid, merchant_kind)
            for robot in self._groups[name].robots
            if not robot.grids or grid in robot.grids
        ]

    def robot(self, group: str, target: str) -> Robot | None:
        """The robot a delivery names, looked up when sending (its key is never in the database)."""
        found = self._groups.get(group)
        if found is None:
            return None
        for robot in found.robots:
            if f"{group}/{robot.name}" == target:
                return robot
        return None
