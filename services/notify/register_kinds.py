"""The mails of the award register (intake's events): an award decided, an award revoked, a proposal or
approval closed without an award.

The unit contact and the person (when an address is known and differs) are each told (NĐ 98 Art. 32:
notification of a decision), with the decision's number and date and the money; a revocation (Law
06/2022 Art. 93(2)) names the ground, the cancelling decision, the reason and the money to recover.
"""
from __future__ import annotations

from services.notify.domain import MailRequest, Recipient

AWARDED, REVOKED, NOT_AWARDED = "awarded", "revoked", "not_awarded"
GROUNDS = {  # Law 06/2022 Art. 93(2)
    "a": ("khai man thành tích", "achievements were falsely declared"),
    "b": ("cung cấp thông tin sai hoặc giả mạo hồ sơ", "false information or forged documents were given"),
    "c": ("thẩm định, xét, đề nghị khen thưởng trái pháp luật",
          "the appraisal, deliberation or proposal broke the law"),
    "d": ("không đạt tiêu chuẩn trong thời gian được tính", "the standards were not met in the period counted"),
}


def money_vnd(amount: int) -> str:
    """``2.340.000 đồng``: Vietnamese digit grouping."""
    return f"{amount:,}".replace(",", ".") + " đồng"


def awarded(event: dict, event_id: str) -> list[MailRequest]:
    """``intake.nomination_awarded`` -> the unit contact and the nominee."""
    decision = event["decision"]
    context = {"nomination_id": event["nomination_id"], "award_code": event["award_code"],
               "award_year": event["award_year"], "nominee_name": event["nominee_name"],
               "unit_id": event["unit_id"], "decision_number": decision["number"],
               "decision_date": decision["date"], "signer": decision.get("signer") or "",
               "money": money_vnd(event["money"]), "money_en": f"{event['money']:,} VND"}
    return _to_both(AWARDED, event_id, context, event["contact_email"], event.get("nominee_email"),
                    event["nominee_name"])


def revoked(event: dict, event_id: str) -> list[MailRequest]:
    """``intake.register_entry_revoked`` -> the unit contact (when the entry knows it) and the person."""
    entry, ground = event["entry"], event["ground"]
    ground_vi, ground_en = GROUNDS[ground]
    context = {"entry_id": entry["entry_id"], "award_code": entry["award_code"], "award_year": entry["award_year"],
               "nominee_name": entry["nominee_name"], "unit_id": entry["unit_id"],
               "decision_number": entry["decision"]["number"], "decision_date": entry["decision"]["date"],
               "revocation_number": event["revocation"]["number"], "revocation_date": event["revocation"]["date"],
               "ground": ground, "ground_vi": ground_vi, "ground_en": ground_en, "reason": event["reason"],
               "money": money_vnd(event["money_to_recover"]), "money_en": f"{event['money_to_recover']:,} VND",
               "returned": [item["nomination_id"] for item in event.get("affected") or []]}
    return _to_both(REVOKED, event_id, context, entry.get("contact_email"), entry.get("nominee_email"),
                    entry["nominee_name"])


def not_awarded(event: dict, event_id: str) -> list[MailRequest]:
    """``intake.nomination_not_awarded`` -> the unit contact and the nominee learn that no award will come
    (the central level did not award the proposal, or the head will not decide the approval), and why."""
    context = {"nomination_id": event["nomination_id"], "award_code": event.get("award_code"),
               "award_year": event.get("award_year"), "nominee_name": event.get("nominee_name") or "",
               "unit_id": event["unit_id"], "reason": event["reason"], "number": event.get("number"),
               "date": event.get("date")}
    return _to_both(NOT_AWARDED, event_id, context, event.get("contact_email"), event.get("nominee_email"),
                    event.get("nominee_name"))


def _to_both(kind, event_id, context, contact, nominee, nominee_name) -> list[MailRequest]:
    requests = []
    if contact:
        requests.append(MailRequest(event_id, kind, Recipient(contact), {**context, "audience": "unit"}))
    if nominee and (not contact or nominee.strip().lower() != contact.strip().lower()):
        requests.append(MailRequest(event_id, kind, Recipient(nominee, nominee_name), {**context, "audience": "nominee"}))
    return requests
