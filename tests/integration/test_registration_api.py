"""POST /registrations, GET /registrations/{id}, GET /conference through the template's HTTP API,
against moto and the Stripe stand-in."""

from __future__ import annotations

from datetime import datetime

import boto3
import stripe

from infra.apigw import LocalHttpApi
from infra.local_aws import DeployedStack
from infra.samples import JSON, encoded, group, individual
from shared.clock import conference_clock
from tests.integration.conftest import STRIPE_SECRET_KEY
from tests.support.tables import scan_all


def post(api: LocalHttpApi, body: object, **headers: str):
    return api.request("POST", "/registrations", headers=JSON | headers, body=encoded(body))


def stripe_session(stripe_url: str, session_id: str) -> stripe.checkout.Session:
    client = stripe.StripeClient(STRIPE_SECRET_KEY, base_addresses={"api": stripe_url})
    return client.v1.checkout.sessions.retrieve(session_id, params={"expand": ["line_items"]})


def session_id_of(checkout_url: str) -> str:
    return checkout_url.rsplit("/", 1)[-1]


def items(aws: boto3.session.Session, stack: DeployedStack) -> list[dict]:
    return scan_all(aws.client("dynamodb"), stack.resources["MainTable"])


class TestConference:
    def test_the_conference_with_its_agenda_in_order(self, api: LocalHttpApi) -> None:
        # When
        response = api.request("GET", "/conference")

        # Then
        assert response.status == 200
        conference = response.json()
        assert conference["name"] == "2020 NASRO Virtual National School Safety Conference"
        assert (conference["starts_on"], conference["ends_on"]) == ("2020-08-05", "2020-08-07")
        assert conference["timezone"] == "America/Chicago"
        assert conference["fee"] == {"amount": 20000, "currency": "usd"}
        sessions = conference["sessions"]
        starts = [datetime.fromisoformat(s["starts_at"]) for s in sessions]
        ends = [datetime.fromisoformat(s["ends_at"]) for s in sessions]
        assert starts == sorted(starts)
        assert all(end <= later for end, later in zip(ends, starts[1:], strict=False))
        assert sessions[0]["starts_at"] == "2020-08-05T09:00:00-05:00"
        titles = " ".join(s["title"] for s in sessions)
        assert "Implicit Bias Awareness to Promote SRO Safety and Effectiveness" in titles
        assert "Safely Returning to School in the Era of COVID-19" in titles
        assert conference["certificate_policy"]["min_attendance_share"] == 0.5


class TestRegistration:
    def test_a_checkout_session_for_all_seats_at_the_fee_each_linked_to_the_registration(
        self, api: LocalHttpApi, stripe_url: str
    ) -> None:
        # When
        response = post(api, group(["a@example.org", "b@example.org", "c@example.org"]))

        # Then a 201 with where to read it, and the session Stripe holds says what the registration says
        assert response.status == 201
        created = response.json()
        assert created["status"] == "pending_payment"
        assert created["kind"] == "group"
        assert created["seats"] == 3
        assert created["amount"] == {"amount": 60000, "currency": "usd"}
        assert created["checkout_url"].startswith(f"{stripe_url}/checkout/cs_")
        assert response.headers["location"] == f"/registrations/{created['registration_id']}"
        session = stripe_session(stripe_url, session_id_of(created["checkout_url"]))
        assert session.amount_total == 60000 and session.currency == "usd"
        assert session.mode == "payment"
        assert session.client_reference_id == created["registration_id"]
        assert session.metadata is not None and session.metadata["registration_id"] == created["registration_id"]
        assert session.customer_email == "chief@example.org"
        assert session.line_items is not None
        (item,) = session.line_items.data
        assert item.quantity == 3
        assert item.price is not None and item.price.unit_amount == 20000

    def test_the_registration_is_readable_without_personal_data(self, api: LocalHttpApi) -> None:
        # Given
        created = post(api, individual()).json()

        # When
        response = api.request("GET", f"/registrations/{created['registration_id']}")

        # Then
        assert response.status == 200
        assert response.json() == {
            "registration_id": created["registration_id"],
            "kind": "individual",
            "status": "pending_payment",
            "seats": 1,
        }
        assert b"ana.lopez" not in response.body

    def test_the_same_person_again_is_a_200_with_the_same_registration_and_checkout(self, api: LocalHttpApi) -> None:
        # Given
        first = post(api, individual()).json()

        # When: the same person, with the address in another case
        again = post(api, individual(email="Ana.Lopez@EXAMPLE.org"))

        # Then
        assert again.status == 200
        assert again.json()["registration_id"] == first["registration_id"]
        assert again.json()["checkout_url"] == first["checkout_url"]

    def test_a_seat_paid_elsewhere_is_a_409_naming_the_attendee_and_storing_nothing_new(
        self, api: LocalHttpApi, aws, stack, stripe_standin
    ) -> None:
        # Given b's seat is paid
        stripe_standin.pay(session_id_of(post(api, individual(email="b@example.org")).json()["checkout_url"]))
        before = items(aws, stack)

        # When
        response = post(api, group(["a@example.org", "B@example.org"]))

        # Then the refusal names the second seat by position, and none of the group was kept (the address's counter
        # counts it: a refusal tells whether an email's seat is paid, so probing for that is limited too)
        assert response.status == 409
        problem = response.json()
        assert problem["code"] == "already_registered"
        assert "Attendee 2" in problem["detail"]
        assert "b@example.org" not in problem["detail"].lower()
        assert items(aws, stack) == before

    def test_registration_closes_when_the_conference_ends(self, api: LocalHttpApi) -> None:
        # Given
        conference_clock.travel_to(datetime.fromisoformat("2020-08-08T00:00:00-05:00"))

        # When
        response = post(api, individual())

        # Then
        assert response.status == 409
        assert response.json()["code"] == "registration_closed"


class TestLookup:
    def test_an_unknown_registration_is_not_found(self, api: LocalHttpApi) -> None:
        # a well-formed id the table does not hold, and one the domain refuses unread (more in the unit tests)
        for registration_id in ("reg_" + "a" * 24, "reg_%00"):
            response = api.request("GET", f"/registrations/{registration_id}")
            assert response.status == 404
            assert response.json()["code"] == "not_found"
            assert response.content_type == "application/problem+json"

    def test_an_unknown_route_is_a_404_problem(self, api: LocalHttpApi) -> None:
        response = api.request("DELETE", "/registrations")
        assert response.status == 404
        assert response.json()["code"] == "not_found"


def test_the_openapi_document_describes_every_route(api: LocalHttpApi) -> None:
    response = api.request("GET", "/openapi.json")
    assert response.status == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert {"/conference", "/registrations", "/registrations/{registration_id}", "/openapi.json"} <= set(
        document["paths"]
    )
    assert "IndividualRegistrationRequest" in document["components"]["schemas"]
