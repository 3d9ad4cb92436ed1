"""Real agents (curl, python urllib, hvac) fetching secrets and leaking them."""
import os

from harness import (PY, Workspace, actions, agent, assert_no_learn_failures, assert_uses, get,
                     is_pipe, rand_secret, the_receive, timeout, to_vault, use_spec, receives,
                     describe_all)


@timeout(90)
def test_curl_kv_to_tcp():
    """curl fetches a KV v2 secret, sed extracts api_key, curl sends it as a
    Bearer token: pipe uses (curl, sed), the argv of the second curl, and its
    socket send, each once, with the fetch's request_id."""
    with Workspace() as ws:
        vault = ws.vault()
        rx = ws.tcp_receiver(http=True)
        d = ws.mkdir("agent", 0o700)
        rc, events, err = ws.run_traced([agent("curl_kv.sh"), vault.url, vault.creds_path,
                                         str(rx.port), d])
        assert rc == 0, "agent exit status %s; stderr: %s" % (rc, err)
        api = vault.issued_one("secret/data/agent/openai", "api_key")
        org = vault.issued_one("secret/data/agent/openai", "org")
        assert ("Authorization: Bearer %s\r\n" % api["value"]).encode() in rx.data(), \
            "the receiver did not get the api_key (agent broken?)"
        assert_no_learn_failures(events)
        fp_api = get(the_receive(events, api, vault=vault), "secret.fingerprint")
        fp_org = get(the_receive(events, org, vault=vault), "secret.fingerprint")
        assert fp_api != fp_org, "two different secrets share a fingerprint"
        for ev in receives(events, **{"vault.request_id": api["request_id"]}):
            assert get(ev, "process.name") == "curl", "receive by %s, not curl" % get(ev, "process.name")
        assert_uses(events, [
            use_spec(api, "pipe", "write", process="curl", fingerprint=fp_api, **{"file.path": is_pipe}),
            use_spec(api, "pipe", "write", process="sed", fingerprint=fp_api, **{"file.path": is_pipe}),
            use_spec(api, "argv", "execve", fingerprint=fp_api),
            use_spec(api, "socket", "sendto", dest=("127.0.0.1", rx.port), transport="tcp",
                     process="curl", fingerprint=fp_api),
            use_spec(org, "pipe", "write", process="curl", fingerprint=fp_org, **{"file.path": is_pipe}),
        ], allowed=[to_vault(vault)])
        # the second curl's argv holds the key: its process.start must not carry args
        # (the leak check already proved no part of the key is in the events)
        starts = [e for e in events if get(e, "event.action") == "process.start"
                  and get(e, "process.name") == "curl"]
        assert len(starts) == 2, "expected 2 curl process.start events:%s" % describe_all(starts)


@timeout(90)
def test_python_urllib_dbcreds():
    """python3 urllib fetches database/creds/readonly, writes the password to
    a log file and sends username:password to a TCP server."""
    with Workspace() as ws:
        vault = ws.vault()
        rx = ws.tcp_receiver()
        d = ws.mkdir("agent", 0o755)
        logfile = os.path.realpath(os.path.join(d, "agent.log"))
        rc, events, err = ws.run_traced([PY, agent("py_dbcreds.py"), vault.url, vault.creds_path,
                                         str(rx.port), logfile])
        assert rc == 0, "agent exit status %s; stderr: %s" % (rc, err)
        user = vault.issued_one("database/creds/readonly", "username")
        pw = vault.issued_one("database/creds/readonly", "password")
        assert user.get("lease_id", "").startswith("database/creds/readonly/")
        rx.wait_bytes(len(user["value"]) + len(pw["value"]) + 2)
        assert_no_learn_failures(events)
        fp_user = get(the_receive(events, user, vault=vault), "secret.fingerprint")
        fp_pw = get(the_receive(events, pw, vault=vault), "secret.fingerprint")
        dest = ("127.0.0.1", rx.port)
        assert_uses(events, [
            use_spec(pw, "file", "write", file_path=logfile, process="python3", fingerprint=fp_pw),
            use_spec(user, "socket", "sendto", dest=dest, transport="tcp", process="python3",
                     fingerprint=fp_user),
            use_spec(pw, "socket", "sendto", dest=dest, transport="tcp", process="python3",
                     fingerprint=fp_pw),
        ], allowed=[to_vault(vault)])


@timeout(90)
def test_hvac_approle_udp():
    """hvac: AppRole login, KV read with the new token, UDP sendto to IPv4
    and IPv6 receivers; the login's client_token and the presented secret_id
    are learned."""
    hvac_approle_udp(lookup_self=False)


@timeout(90)
def test_hvac_lookup_self_keeps_events_intact():
    """As test_hvac_approle_udp, with hvac's is_authenticated() (a
    token/lookup-self call, whose response holds the token's id but also
    public metadata: issue_time, expire_time, path, accessor). Every event must
    still be well formed (@timestamp, vault.path) and the uses exact."""
    hvac_approle_udp(lookup_self=True)


def hvac_approle_udp(lookup_self):
    with Workspace() as ws:
        vault = ws.vault()
        u4 = ws.udp_receiver("127.0.0.1")
        u6 = ws.udp_receiver("::1")
        rc, events, err = ws.run_traced([PY, agent("py_hvac.py"), vault.url, vault.creds_path,
                                         str(u4.port), str(u6.port)]
                                        + (["--lookup-self"] if lookup_self else []))
        assert rc == 0, "agent exit status %s; stderr: %s" % (rc, err)
        login = vault.issued_one("auth/approle/login", "client_token")
        api = vault.issued_one("secret/data/agent/openai", "api_key")
        org = vault.issued_one("secret/data/agent/openai", "org")
        assert u4.received() == [api["value"].encode()], "IPv4 receiver got %r" % u4.received()
        assert u6.received() == [org["value"].encode()], "IPv6 receiver got %r" % u6.received()
        assert_no_learn_failures(events)
        the_receive(events, login, vault=vault)
        if lookup_self:
            the_receive(events, vault.issued_one("auth/token/lookup-self", "id"), vault=vault)
        sid = receives(events, **{"vault.field": "secret_id", "secret.source": "request"})
        assert len(sid) == 1, "expected one secret.receive of the presented secret_id, found:%s\n  all:%s" % (
            describe_all(sid), describe_all([e for e in events if get(e, "event.action") == "secret.receive"]))
        assert get(sid[0], "vault.request_id") == login["request_id"], \
            "secret_id receive has request_id %s, the login's is %s" % (
                get(sid[0], "vault.request_id"), login["request_id"])
        assert get(sid[0], "vault.path") == "auth/approle/login", describe_all(sid)
        fp_api = get(the_receive(events, api, vault=vault), "secret.fingerprint")
        fp_org = get(the_receive(events, org, vault=vault), "secret.fingerprint")
        assert_uses(events, [
            use_spec(api, "socket", "sendto", dest=("127.0.0.1", u4.port), transport="udp",
                     process="python3", fingerprint=fp_api),
            use_spec(org, "socket", "sendto", dest=("::1", u6.port), transport="udp",
                     process="python3", fingerprint=fp_org),
        ], allowed=[to_vault(vault)])


@timeout(90)
def test_response_shapes_chunked_gzip():
    """Vault responses sent chunked, gzip-encoded (curl --compressed) and both
    are learned: each api_key is reported when curl pipes it on and when
    python sends it to the TCP server."""
    with Workspace() as ws:
        seed = {"kv": {"secret/shape/%s" % k: {"api_key": rand(k)} for k in ("chunked", "gzip", "both")}}
        vault = ws.vault(seed=seed)
        rx = ws.tcp_receiver()
        d = ws.mkdir("agent", 0o700)
        rc, events, err = ws.run_traced([agent("curl_shapes.sh"), vault.url, vault.creds_path,
                                         str(rx.port), d])
        assert rc == 0, "agent exit status %s; stderr: %s" % (rc, err)
        expected = []
        for k in ("chunked", "gzip", "both"):
            rec = vault.issued_one("secret/data/shape/%s" % k, "api_key")
            assert ("api_key=%s\n" % rec["value"]).encode() in rx.data(), "receiver lacks %s secret" % k
            fp = get(the_receive(events, rec, vault=vault), "secret.fingerprint")
            expected += [
                use_spec(rec, "pipe", "write", process="curl", fingerprint=fp, **{"file.path": is_pipe}),
                use_spec(rec, "socket", "sendto", dest=("127.0.0.1", rx.port), transport="tcp",
                         process="python3", fingerprint=fp),
            ]
        assert_no_learn_failures(events)
        assert_uses(events, expected, allowed=[to_vault(vault)])


def rand(kind):
    from harness import rand_secret
    return rand_secret(32, "sk-%s-" % kind)


@timeout(90)
def test_response_body_written_whole():
    """curl writes a response of 200 secrets to a file in a call or two: every one is
    reported as used there, with its own field and request, not the first few dozen a
    call's list of matches holds (in the kernel, or in the rescan of a held write)."""
    with Workspace() as ws:
        fields = {"k%03d" % i: rand_secret(12 + i % 40) for i in range(200)}
        vault = ws.vault(seed={"kv": {"secret/many": fields}})
        d = ws.mkdir("agent", 0o700)
        out = os.path.realpath(os.path.join(d, "body.json"))
        header = os.path.join(d, "vault-header")	# the token in no argv
        with open(header, "w") as f:
            f.write("X-Vault-Token: %s\n" % vault.creds["root_token"])
        rc, events, err = ws.run_traced(["curl", "-sf", "-o", out, "-H", "@" + header,
                                         vault.url + "/v1/secret/data/many"])
        assert rc == 0, "curl exit status %s; stderr: %s" % (rc, err)
        assert_no_learn_failures(events)
        uses = [e for e in actions(events, "secret.use")
                if get(e, "secretrace.sink") == "file" and get(e, "file.path") == out]
        for field in fields:
            rec = vault.issued_one("secret/data/many", field)
            the_receive(events, rec, vault=vault)
            mine = [e for e in uses if get(e, "vault.field") == field]
            assert len(mine) == 1, "%s: %d uses in %s, expected 1 (of %d uses there)" % (
                field, len(mine), out, len(uses))
            assert get(mine[0], "vault.request_id") == rec["request_id"], describe_all(mine)
