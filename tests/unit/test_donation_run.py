"""core.donation.DonationRun: the order of a donation's POSTs and what each answer means."""

from core.donation import ACCEPTED, ANSWERED, BLOCKED_MESSAGE, HEALTH_GRACE_MS, HEALTHY, IN_POOL, \
    IN_POOL_MESSAGE, NEXT, NO_SERVER_MESSAGE, REJECTED, SILENT, DonationRun, is_already_donated

A, B, C = "http://a/api", "http://b/api", "http://c/api"


def test_waits_for_the_first_in_order_within_the_grace_then_takes_a_healthy_one():
    run = DonationRun([A, B, C], 0)
    assert run.next_server(0) == [None, -1]          # nothing answered yet
    run.saw_health(B, HEALTHY, False)
    assert run.next_server(10) == [None, HEALTH_GRACE_MS - 10]   # A may still answer
    assert run.next_server(HEALTH_GRACE_MS) == [B, None]          # a silent A does not hold it up
    run.saw_health(A, HEALTHY, False)
    assert run.next_server(20) == [A, None]           # order kept when A is quick


def test_healthy_first_then_those_that_answered_never_the_silent():
    run = DonationRun([A, B, C], 0)
    run.saw_health(A, ANSWERED, False)
    run.saw_health(B, SILENT, False)
    run.saw_health(C, HEALTHY, False)
    assert run.next_server(1) == [C, None]
    assert run.after_post(C, "http", "HTTP 503") == NEXT
    assert run.next_server(2) == [A, None]
    assert run.after_post(A, "http", "HTTP 500") == NEXT
    assert run.next_server(3) == [None, None]
    assert run.failure_message() == NO_SERVER_MESSAGE


def test_already_donated_is_a_rejection_unless_an_attempt_was_ambiguous():
    run = DonationRun([A, B], 0)
    assert run.after_post(A, "rejected", "This API key has already been donated") == REJECTED
    run = DonationRun([A, B], 0)
    assert run.after_post(A, "timeout", "timeout after 10000 ms") == NEXT
    assert run.after_post(B, "rejected", "This API key has already been donated") == IN_POOL
    assert "in the pool" in IN_POOL_MESSAGE
    run = DonationRun([A, B], 0)
    assert run.after_post(A, "timeout", "timeout") == NEXT
    assert run.after_post(B, "rejected", "Invalid API key: not valid") == REJECTED
    assert run.after_post(B, "ok", "added") == ACCEPTED


def test_blocked_everywhere_says_so():
    run = DonationRun([A, B], 0)
    run.saw_health(A, SILENT, True)
    run.saw_health(B, SILENT, True)
    assert run.next_server(0) == [None, None]
    assert run.failure_message() == BLOCKED_MESSAGE
    run = DonationRun([A, B], 0)
    run.saw_health(A, SILENT, True)
    run.saw_health(B, HEALTHY, False)
    run.after_post(B, "http", "HTTP 500")
    assert run.failure_message() == NO_SERVER_MESSAGE   # B was reached: not the browser's doing


def test_is_already_donated():
    assert is_already_donated("This API key has already been donated")
    assert not is_already_donated("Invalid API key")
    assert not is_already_donated(None)
