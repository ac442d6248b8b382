"""core.donation at its edges: the health grace, "already donated", blocked servers.

Each test names a behaviour that a mutant of core.donation changed without
any other test noticing (docs/mutation.md).
"""
import pytest

from core import outcome as oc
from core.donation import (ACCEPTED, ANSWERED, BLOCKED_MESSAGE, HEALTH_GRACE_MS, HEALTHY,
                           IN_POOL, NEXT, NO_SERVER_MESSAGE, REJECTED, SILENT, DonationRun,
                           is_already_donated)

A, B = "http://a/api", "http://b/api"
T0 = 1_700_000_000_000


@pytest.mark.parametrize("text", ["Already donated", "This key was already donated",
                                  "Donated already"])
def test_already_donated_wherever_the_words_stand(text):
    assert is_already_donated(text)


@pytest.mark.parametrize("text", ["Key already exists", "Thanks for having donated", None])
def test_already_donated_needs_both_words(text):
    assert not is_already_donated(text)


def test_the_health_grace_counts_from_the_donation_start():
    run = DonationRun([A, B], T0)
    run.saw_health(B, HEALTHY, False)
    assert run.next_server(T0 + 100) == [None, HEALTH_GRACE_MS - 100]
    assert run.next_server(T0 + HEALTH_GRACE_MS) == [B, None]


def test_after_a_failed_post_the_next_healthy_server_is_tried():
    run = DonationRun([A, B], T0)
    run.saw_health(A, HEALTHY, False)
    run.saw_health(B, HEALTHY, False)
    assert run.next_server(T0) == [A, None]
    assert run.after_post(A, oc.HTTP, 'HTTP 500') == NEXT
    assert run.next_server(T0) == [B, None]


def test_after_a_server_error_already_donated_is_a_rejection():
    run = DonationRun([A, B], T0)
    run.after_post(A, oc.HTTP, 'HTTP 500')
    assert run.after_post(B, oc.REJECTED, 'Already donated') == REJECTED


def test_after_a_network_error_already_donated_means_the_key_is_in():
    run = DonationRun([A, B], T0)
    run.after_post(A, oc.NETWORK_ERROR, 'refused')
    assert run.after_post(B, oc.REJECTED, 'Key already donated') == IN_POOL


def test_a_post_the_browser_blocked_says_allow_it_in_options():
    run = DonationRun([A], T0)
    run.saw_health(A, ANSWERED, False)
    assert run.after_post(A, oc.BLOCKED, 'blocked') == NEXT
    assert run.failure_message() == BLOCKED_MESSAGE


def test_no_server_to_post_to_is_not_a_blocked_one():
    run = DonationRun([A], T0)
    run.saw_health(A, SILENT, False)
    assert run.next_server(T0) == [None, None]
    assert run.failure_message() == NO_SERVER_MESSAGE


def test_a_good_post_is_accepted():
    assert DonationRun([A], T0).after_post(A, oc.OK, 'ok') == ACCEPTED
