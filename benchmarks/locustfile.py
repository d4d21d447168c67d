"""Load test: what the registry's users do at once (issue 16).

    bash benchmarks/load_test.sh            # 50 users for 10 minutes against gunicorn with 2 workers
    .venv/bin/locust -f benchmarks/locustfile.py --host https://127.0.0.1:8443 ...   # by hand

The identities come from the JSON file named by ``LOCUST_IDENTITIES`` (written by ``benchmarks/load_prepare.py``
for a database, or by the smoke test): a password, and for each user its e-mail and single-use second-factor
codes; for companies their account and a destination for transfers.

- The public (most users): the registry report, the transition-plan list, a search, a plan page, the
  verification bodies, in Japanese or English.
- Companies: sign in (second factor where the role needs it), their dashboard, holdings, transaction history, and now and then a transfer of one allowance to start (it then waits for approval).
- Administrators: sign in with the second factor, search the registry, the four-eyes queue.
"""

from __future__ import annotations

import json
import os
import random
import re

from locust import FastHttpUser, between, task

IDENTITIES = json.loads(open(os.environ["LOCUST_IDENTITIES"], encoding="utf-8").read())  # noqa: SIM115
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
PLAN_LINK = re.compile(r'href="(/transition-plans/\d+/\d+/)"')
LANGUAGES = ("ja", "en")


def _csrf(response) -> str:
    match = CSRF.search(response.text)
    if match is None:
        response.failure("no CSRF token on the page")
        return ""
    return match.group(1)


class RegistryUser(FastHttpUser):  # geventhttpclient: the load generator leaves the CPU to the server
    abstract = True
    # Seconds a user waits between acts: 1-3 (LOCUST_WAIT="1,3"); the smoke test in make test waits less.
    wait_time = between(*(float(s) for s in os.environ.get("LOCUST_WAIT", "1,3").split(",")))

    insecure = True  # the load test's own self-signed certificate

    def on_start(self):
        self.language = random.choice(LANGUAGES)

    def get(self, url, **kwargs):
        return self.client.get(url, headers={"Accept-Language": self.language}, **kwargs)

    def post(self, url, *, headers, **kwargs):
        return self.client.post(url, headers={"Accept-Language": self.language, **headers}, **kwargs)

    def sign_in(self, identity: dict) -> None:
        with self.get("/login/", name="/login/", catch_response=True) as page:
            token = _csrf(page)
        with self.post("/login/", name="/login/ (post)", catch_response=True, allow_redirects=False, data={
                "csrfmiddlewaretoken": token, "username": identity["email"],
                "password": IDENTITIES["password"]}, headers={"Referer": self.host + "/login/"}) as response:
            if response.status_code != 302:
                response.failure(f"sign-in refused ({response.status_code})")
                return
        # The registry asks for the second factor on the first page after the password, where the role needs it.
        with self.get("/dashboard/", name="/dashboard/ (after sign-in)", allow_redirects=False,
                             catch_response=True) as response:
            second_factor = "/two-factor/verify/" in response.headers.get("Location", "")
            response.success()
        if second_factor:
            self.post_form("/two-factor/verify/", {"otp_token": identity["codes"].pop()}, name="/two-factor/verify/")

    def page(self, url: str, name: str | None = None) -> None:
        """A signed-in page: a redirect (to sign in again, to the second factor) is a failure, not a page."""
        with self.get(url, name=name or url, allow_redirects=False, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{url} answered {response.status_code}")

    def post_form(self, url: str, data: dict, *, name: str, page: str | None = None) -> None:
        """GET the page for its CSRF token, POST the form, expect a redirect (the registry's answer to success)."""
        with self.get(page or url, name=name, catch_response=True) as response:
            token = _csrf(response)
        with self.post(url, name=f"{name} (post)", catch_response=True, allow_redirects=False,
                              data={"csrfmiddlewaretoken": token, **data},
                              headers={"Referer": self.host + (page or url)}) as response:
            if response.status_code != 302:
                response.failure(f"{url} answered {response.status_code}, not a redirect")


class PublicReader(RegistryUser):
    weight = 6

    @task(3)
    def plan_list(self):
        response = self.get("/transition-plans/")
        links = PLAN_LINK.findall(response.text)
        if links:
            self.get(random.choice(links), name="/transition-plans/[entity]/[fy]/")

    @task(2)
    def registry_report(self):
        self.get("/registry-report/")

    @task(1)
    def search(self):
        self.get(f"/transition-plans/?q={random.choice(IDENTITIES['searches'])}", name="/transition-plans/?q=")

    @task(1)
    def verification_bodies(self):
        self.get("/verification-bodies/")


class Company(RegistryUser):
    weight = 3

    def on_start(self):
        super().on_start()
        self.identity = random.choice(IDENTITIES["companies"])
        self.sign_in(self.identity)
        self.account = self.identity["account"]

    @task(2)
    def dashboard(self):
        self.page("/dashboard/")

    @task(3)
    def holdings(self):
        self.page(f"/holding-accounts/{self.account}/", name="/holding-accounts/[pk]/")

    @task(3)
    def history(self):
        self.page(f"/holding-accounts/{self.account}/transactions/", name="/holding-accounts/[pk]/transactions/")

    @task(1)
    def start_a_transfer(self):
        if not self.identity["codes"]:
            return
        url = f"/holding-accounts/{self.account}/transfers/"
        self.post_form(url, {"form": "initiate", "destination": self.identity["destination"],
                             "unit": self.identity["unit"], "quantity": "1", "stage": "confirm",
                             "otp_token": self.identity["codes"].pop()}, name="/holding-accounts/[pk]/transfers/")


class Administrator(RegistryUser):
    weight = 1

    def on_start(self):
        super().on_start()
        self.sign_in(random.choice(IDENTITIES["administrators"]))

    @task(3)
    def search(self):
        self.page(f"/administration/search/?q={random.choice(IDENTITIES['searches'])}", name="/administration/search/?q=")

    @task(1)
    def four_eyes_queue(self):
        self.page("/administration/four-eyes/")
