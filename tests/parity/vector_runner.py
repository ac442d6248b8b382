"""Runs the shared test vectors (tests/vectors/*.json) through the pure core.

The same file runs in CPython (tests/unit/test_vectors.py) and, transpiled by
Transcrypt, in node (tests/unit/test_parity.py): both must give the expected
results. Keep it Transcrypt-safe (TRANSCRYPT.md §5).
"""

from core import compat, donation, image, ejection, failover, hedge, outcome, pool, poolview, provider, \
    redact, retry_after, settings, status, urls, words


def fixed_random(values):
    """A random_fn that returns values in turn (then the last one forever)."""
    state = {'i': 0}

    def next_value():
        i = state['i']
        state['i'] = i + 1
        return values[min(i, len(values) - 1)]
    return next_value


def outcome_obj(o):
    return {'kind': o.kind, 'reason': o.reason, 'status': o.status,
            'retryAfterMs': o.retry_after_ms, 'key': o.key}


def run_pool(case):
    p = pool.Pool(case['servers'], case['ledger'] if 'ledger' in case else None)
    results = []
    for op in case['ops']:
        verb = op[0]
        if verb == 'pick':
            results.append(p.pick(op[1], fixed_random([op[2]]), op[3] if len(op) > 3 else []))
        elif verb == 'fail':
            o = outcome.Outcome(op[3], op[4], 0, None, op[5])
            results.append(p.mark_failed(op[1], op[2], o, op[6], op[7], fixed_random([op[8]])))
        elif verb == 'ok':
            p.mark_ok(op[1], op[2], op[3])
            results.append(None)
        elif verb == 'state':
            results.append(p.state(op[1], op[2]))
        elif verb == 'reset':
            p.reset_round(op[1])
            results.append(None)
        elif verb == 'refilled':
            p.refilled(op[1])
            results.append(None)
        elif verb == 'release':
            p.release(op[1], op[2])
            results.append(None)
        elif verb == 'rows':
            results.append(p.status_rows(op[1]))
        elif verb == 'candidates':
            results.append(p.candidates(op[1], op[2]))
        elif verb == 'due':
            results.append(p.due_for_probe(op[1]))
        elif verb == 'next_retry':
            results.append(p.next_retry_at_ms(op[1]))
        elif verb == 'ledger':
            p = pool.Pool(case['servers'], p.to_obj())
            results.append(p.to_obj())
        else:
            results.append('unknown op ' + verb)
    return results


def run_keyrun(case):
    """A scripted key fetch driven by KeyRun.next_action, the loop that ships.

    Each START consumes the next scripted outcome (no hedging: delay 0); BACKOFF
    starts the next round; GIVE_UP ends the script.
    """
    servers = case['servers']
    p = pool.Pool(servers, None)
    run = failover.KeyRun(0, len(servers), case['timeoutMs'], case['backoffMs'], case['avoid'])
    pick_random = fixed_random(case['random'])
    now_ms = 0
    steps = []
    for kind in case['outcomes']:
        act = run.next_action(p, now_ms, pick_random, 0)
        if act.kind == failover.BACKOFF:
            now_ms = now_ms + act.wait_ms
            p.reset_round(now_ms)
            run.new_round()
            steps.append('round ' + str(run.round))
            act = run.next_action(p, now_ms, pick_random, 0)
        if act.kind != failover.START:
            steps.append('no server left')
            break
        url = act.url
        run.start(url, now_ms)
        now_ms = now_ms + 10
        o = outcome.Outcome(kind, kind)
        run.finish(url, o)
        steps.append(url + ' ' + kind)
        if kind == 'ok':
            p.mark_ok(url, now_ms, 10)
            break
        p.mark_failed(url, now_ms, o, 1000, 300000, fixed_random([0.0]))
    steps.append(run.failure_message(len(servers)) if len(run.failures) > 0 else 'no failure')
    steps.append(run.attempts)
    return steps


def action_text(act):
    """'start http://a/api', 'start http://b/api hedge', 'wait 240', 'wait', 'check a b', ..."""
    if act.kind == failover.START:
        return 'start ' + act.url + (' hedge' if act.hedge else '')
    if act.kind == failover.CHECK:
        return 'check ' + ' '.join(act.urls)
    if act.kind == failover.WAIT or act.kind == failover.BACKOFF:
        return act.kind + ('' if act.wait_ms == None else ' ' + str(act.wait_ms))
    return act.kind + ': ' + act.message


def run_keyrun_script(case):
    """A key fetch with hedges and liveness checks, event by event.

    ops: ["next", now] -> the Action as text (a START is also started at now);
    ["finish", url, kind]; ["health", url, answered, latency_ms, now];
    ["latencies", [ms, ...]] sets the pool's key latencies.
    """
    servers = case['servers']
    p = pool.Pool(servers, case['ledger'] if 'ledger' in case else None)
    credit = case['credit'] if 'credit' in case else None
    run = failover.KeyRun(0, len(servers), case['timeoutMs'], case['backoffMs'], [], credit)
    pick_random = fixed_random(case['random'])
    delay = case['hedgeDelayMs'] if 'hedgeDelayMs' in case else None
    results = []
    for op in case['ops']:
        verb = op[0]
        if verb == 'next':
            act = run.next_action(p, op[1], pick_random, delay)
            if act.kind == failover.START:
                run.start(act.url, op[1])
            results.append(action_text(act))
        elif verb == 'finish':
            run.finish(op[1], outcome.Outcome(op[2], op[2]))
            results.append(None)
        elif verb == 'health':
            run.saw_health(op[1], op[2], op[3], op[4])
            results.append(None)
        elif verb == 'latencies':
            p.latencies_ms = [x for x in op[1]]
            results.append(None)
        else:
            results.append('unknown op ' + verb)
    results.append('blind ' + str(run.blind_hedges) + ', evidence ' + str(run.evidence_hedges))
    return results


def run_case(case):
    fn = case['fn']
    a = case['args']
    if fn == 'mask_key':
        return redact.mask_key(a[0])
    if fn == 'redact':
        return redact.redact(a[0], a[1])
    if fn == 'clean_text':
        return redact.clean_text(a[0], a[1])
    if fn == 'retry_after_ms':
        return retry_after.retry_after_ms(a[0], a[1])
    if fn == 'parse_http_date_ms':
        return retry_after.parse_http_date_ms(a[0])
    if fn == 'ejection_ms':
        return ejection.ejection_ms(a[0], a[1], a[2], fixed_random([a[3]]))
    if fn == 'hedge_delay_ms':
        return hedge.hedge_delay_ms(a[0], a[1])
    if fn == 'check_base_url':
        return settings.check_base_url(a[0])
    if fn == 'resolve_settings':
        return settings.resolve_settings(a[0], a[1])
    if fn == 'liveness_check_ms':
        return hedge.liveness_check_ms(a[0], a[1])
    if fn == 'liveness_grace_ms':
        return hedge.liveness_grace_ms(a[0])
    if fn == 'percentile':
        return hedge.percentile(a[0], a[1])
    if fn == 'earn_credit':
        return hedge.earn_credit(a[0])
    if fn == 'counts_against_server':
        return [outcome.Outcome(k, k).counts_against_server() for k in a[0]]
    if fn == 'duration_text':
        return words.span_text(a[0])
    if fn == 'outage_message':
        o = pool.Outage(a[0], a[1], a[2], a[3])
        return failover.outage_message(o, a[4], a[5])
    if fn == 'status_obj':
        return status.status_obj(a[0], a[1], a[2])
    if fn == 'error_text':
        return status.error_text(a[0])
    if fn == 'check_path':
        return settings.check_path(a[0])
    if fn == 'check_servers':
        return settings.check_servers(a[0])
    if fn == 'split_scheme':
        return urls.split_scheme(a[0])
    if fn == 'without_scheme':
        return urls.without_scheme(a[0])
    if fn == 'host_of':
        return urls.host_of(a[0])
    if fn == 'host_pattern':
        return urls.host_pattern(a[0])
    if fn == 'origin_of':
        return urls.origin_of(a[0])
    if fn == 'plural':
        return words.plural(a[0], a[1], a[2])
    if fn == 'ms_bounds':
        return settings.ms_bounds(a[0])
    if fn == 'is_ms_in_range':
        return settings.is_ms_in_range(a[0], a[1])
    if fn == 'ejection_fits':
        return settings.ejection_fits(a[0], a[1])
    if fn == 'text_fits':
        return settings.text_fits(a[0], a[1])
    if fn == 'key_outcome':
        return outcome_obj(outcome.key_outcome(a[0], a[1], a[2], a[3], a[4]))
    if fn == 'health_outcome':
        return outcome_obj(outcome.health_outcome(a[0], a[1], a[2], a[3], a[4]))
    if fn == 'donate_outcome':
        secret = a[5] if len(a) > 5 else None
        return outcome_obj(outcome.donate_outcome(a[0], a[1], a[2], a[3], a[4], secret))
    if fn == 'error_outcome':
        return outcome_obj(outcome.error_outcome(a[0], a[1]))
    if fn == 'check_key_input':
        return donation.check_key_input(a[0])
    if fn == 'check_donor_input':
        return donation.check_donor_input(a[0])
    if fn == 'failure_kind':
        return provider.failure_kind(a[0], a[1])
    if fn == 'failure_text':
        return provider.failure_text(a[0], a[1], a[2])
    if fn == 'answer_text':
        return provider.answer_text(a[0], a[1])
    if fn == 'result_text':
        return provider.result_text(a[0], a[1])
    if fn == 'json_copy':
        return compat.json_copy(a[0], 0)
    if fn == 'mask_keylike':
        return redact.mask_keylike(a[0])
    if fn == 'sniff_mime':
        return image.sniff_mime(a[0])
    if fn == 'is_forbidden_image_url':
        return image.is_forbidden_image_url(a[0], a[1], a[2])
    if fn == 'stored_image_url':
        return image.stored_image_url(a[0])
    if fn == 'key_problem':
        return outcome.key_problem(a[0])
    if fn == 'request_spec':
        return provider.request_spec(a[0], a[1], a[2], a[3], a[4])
    if fn == 'no_key_message':
        failures = [[f[0], outcome.Outcome(f[1], 'x')] for f in a[0]]
        return failover.no_key_message(failures, a[1])
    if fn == 'worst_case_ms':
        return failover.worst_case_ms(a[0], a[1], a[2])
    if fn == 'row_view':
        return poolview.row_view(a[0], a[1], a[2])
    if fn == 'status_line':
        return poolview.status_line(a[0], a[1], a[2])
    if fn == 'pool_mark':
        return poolview.pool_mark(a[0])
    if fn == 'stale_urls':
        return poolview.stale_urls(poolview.with_checks(a[0], a[1]), a[2], a[3])
    if fn == 'checked_from':
        return poolview.checked_from(a[0], a[1])
    if fn == 'pool':
        return run_pool(case)
    if fn == 'keyrun':
        return run_keyrun(case)
    if fn == 'keyrun_script':
        return run_keyrun_script(case)
    return 'unknown fn ' + fn


def run_all(cases):
    return [run_case(c) for c in cases]
