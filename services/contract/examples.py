"""Realistic example events, for the docs, tests, the demo and the benchmarks."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from lienthong.contract.events import organization

GOVERNMENT_OFFICE = "000.00.00.G22"
NGHE_AN = "000.00.00.H41"

_OCCURRED = datetime(2026, 11, 26, 8, 30, 15, 123000, tzinfo=UTC)
_DOCUMENT_ID = UUID("6f1c1f0e-8c43-4a7e-9a55-1d2b3c4d5e6f")
_REPORT_ID = UUID("0b7e2f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b")
_STATUS_ID = UUID("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d")


def document(
    *,
    event_id: UUID = _DOCUMENT_ID,
    sender: str = GOVERNMENT_OFFICE,
    recipients: tuple[str, ...] = ("all-provinces",),
    number: str = "7816",
    attachments: int = 2,
) -> dict[str, Any]:
    """Return a directive from the Government Office, about 1-2 KB encoded."""
    notation = "VPCP-KSTT"
    promulgated = date(2026, 11, 25)
    return {
        "event_id": event_id,
        "occurred_at": _OCCURRED,
        "document_id": f"{sender},{promulgated:%Y/%m/%d},{number}/{notation}",
        "from_organ": {
            **organization(sender, "Văn phòng Chính phủ"),
            "organization_in_charge": "Cục Kiểm soát thủ tục hành chính",
            "organ_add": "16 Lê Hồng Phong, Ba Đình, Hà Nội",
            "email": "vanthu@chinhphu.vn",
            "telephone": "024.08043162",
            "fax": None,
            "website": "https://vpcp.chinhphu.vn",
        },
        "recipients": list(recipients),
        "to_places": ["Ủy ban nhân dân các tỉnh, thành phố trực thuộc Trung ương"],
        "code": {"code_number": number, "code_notation": notation},
        "promulgation": {"place": "Hà Nội", "promulgation_date": promulgated},
        "document_type": {"type": 2, "type_detail": 1, "type_name": "Công văn"},
        "subject": (
            "V/v đẩy mạnh cắt giảm, đơn giản hóa thủ tục hành chính và thực hiện dịch vụ công"
            " trực tuyến toàn trình trong lĩnh vực đất đai, xây dựng, đầu tư năm 2027"
        ),
        "content_summary": (
            "Thủ tướng Chính phủ yêu cầu Chủ tịch Ủy ban nhân dân các tỉnh, thành phố trực thuộc"
            " Trung ương rà soát, cắt giảm thủ tục hành chính, báo cáo kết quả thực hiện về Văn"
            " phòng Chính phủ trước ngày 15 tháng 12 năm 2026 để tổng hợp, báo cáo Thủ tướng."
        ),
        "signer": {
            "competence": "KT. BỘ TRƯỞNG, CHỦ NHIỆM",
            "position": "Phó Chủ nhiệm",
            "full_name": "Nguyễn Văn An",
        },
        "due_date": date(2026, 12, 15),
        "steering_type": "DIRECTIVE_REPORT_BACK",
        "other_info": {
            "priority": "URGENT",
            "sphere_of_promulgation": "Toàn quốc",
            "typer_notation": "KSTT",
            "promulgation_amount": 70,
            "page_amount": 3,
            "appendixes": ["Phụ lục I: Danh mục thủ tục hành chính cần cắt giảm"],
        },
        "response_for": [],
        "business": {"action": "NEW", "reason": None, "staff": None, "replacements": []},
        "attachments": [
            {
                "name": f"{number}-{notation}-phu-luc-{i}.pdf",
                "media_type": "application/pdf",
                "size_bytes": 184_320 * i,
                "sha256": f"{i:02x}" * 32,
                "uri": f"https://files.vpcp.gov.vn/lienthong/2026/11/{number}/{i}.pdf",
                "description": f"Phụ lục {i}",
            }
            for i in range(1, attachments + 1)
        ],
    }


def report(
    *,
    event_id: UUID = _REPORT_ID,
    sender: str = NGHE_AN,
    month: int = 10,
) -> dict[str, Any]:
    """Return a province's monthly socio-economic report to the Government Office."""
    return {
        "event_id": event_id,
        "occurred_at": _OCCURRED,
        "report_id": f"BC-KTXH-THANG:{sender}:2026-M{month:02d}",
        "regime_code": "BC-KTXH-THANG",
        "from_organ": organization(sender, "Ủy ban nhân dân tỉnh Nghệ An"),
        "recipients": [GOVERNMENT_OFFICE],
        "title": f"Báo cáo tình hình kinh tế - xã hội tháng {month}/2026",
        "period": {"kind": "MONTH", "year": 2026, "number": month},
        "indicators": [
            {"code": "KTXH-01", "unit": "tỷ đồng", "value": 8_432.5},
            {"code": "KTXH-02", "unit": "%", "value": 7.85},
            {"code": "KTXH-07", "unit": "hồ sơ", "value": 15_210.0},
            {"code": "KTXH-19", "unit": None, "value": "Hoàn thành kế hoạch tháng"},
        ],
        "revision": 0,
        "signer": None,
    }


def status(
    *,
    event_id: UUID = _STATUS_ID,
    document_id: str = "000.00.00.G22,2026/11/25,7816/VPCP-KSTT",
    document_sender: str = GOVERNMENT_OFFICE,
    sender: str = NGHE_AN,
    code: str = "03",
) -> dict[str, Any]:
    """Return a status from a recipient about a document it received."""
    return {
        "event_id": event_id,
        "occurred_at": _OCCURRED,
        "response_for": {"document_id": document_id, "organ_id": document_sender},
        "from_organ": organization(sender, "Ủy ban nhân dân tỉnh Nghệ An"),
        "status_code": code,
        "description": "Đã tiếp nhận, vào sổ văn bản đến",
        "staff": {
            "department": "Văn phòng UBND tỉnh",
            "staff": "Trần Thị Bình",
            "email": "vanthu@nghean.gov.vn",
            "mobile": None,
        },
    }
