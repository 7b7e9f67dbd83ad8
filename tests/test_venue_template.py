"""The venue template stays in step with the contract it teaches."""

from __future__ import annotations

import inspect

from venues._template.venue import TemplateSession, TemplateVenue
from venues.base import AccountSession, Venue
from venues.registry import kinds


def verbs(cls: type) -> set[str]:
    return {name for name, member in vars(cls).items() if inspect.isfunction(member) and not name.startswith("_")}


def test_the_template_implements_every_abstract_verb_of_the_contract():
    assert Venue.__abstractmethods__ <= verbs(TemplateVenue)
    assert AccountSession.__abstractmethods__ <= verbs(TemplateSession)
    assert not inspect.isabstract(TemplateVenue) and not inspect.isabstract(TemplateSession)


def test_the_template_shows_the_optional_verbs_too():
    optional = {"edit_order", "cancel_all_after"}
    assert optional <= verbs(TemplateSession)


def test_the_template_is_not_a_registered_venue():
    assert "template" not in kinds()
