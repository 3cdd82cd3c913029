"""The one redaction layer (calib.privacy): whole-word matching, open and blind mappings, free text."""

from __future__ import annotations

import pandas as pd

from calib.privacy import (
    EMAIL_MARK,
    SOMEONE,
    Redactor,
    group_numbers,
    pseudonym,
    pseudonyms,
    redaction,
    size_band,
    suppressed_groups,
)

XSS = "<script>alert(1)</script>"
PEOPLE = pd.DataFrame(
    {
        "employee_id": ["E1267", "E2", "E3"],
        "name": ["Kenji O'Brien", "Ana da Silva", "Ana Keller"],
        "handle": ["kenji-obrien", "anads", "akeller"],
        "email": ["kenji.obrien@example.com", "ana@example.com", "ana.keller@example.com"],
    }
)


def test_redactor_replaces_whole_words_only():
    redact = Redactor({"E001": "Ada (E001)", "Ana da Silva": "Person 1", XSS: "Person 2"})
    assert redact("E001's team; E0012 stays") == "Ada (E001)'s team; E0012 stays"
    assert redact("ask Ana da Silva, not Ana da Silvana") == "ask Person 1, not Ana da Silvana"
    assert redact(f"named {XSS}.") == "named Person 2."
    assert redact(None) is None


def test_redactor_ignores_case_when_asked():
    assert Redactor({"kenji-obrien": "P"}, ignore_case=True)("by KENJI-OBRIEN today") == "by P today"
    assert Redactor({"kenji-obrien": "P"})("by KENJI-OBRIEN today") == "by KENJI-OBRIEN today"


def test_open_mode_labels_names_and_adds_names_beside_ids():
    frame = pd.DataFrame({"employee_id": ["E1", "E2", "E3"], "name": ["Ada Top", "Bo Low", "Bo Low"]})
    open_ = redaction(frame, blind=False)
    assert open_.labels == {"E1": "Ada Top", "E2": "Bo Low (E2)", "E3": "Bo Low (E3)"}
    assert open_("E1 rated E3") == "Ada Top (E1) rated Bo Low (E3)"
    assert not open_.blind


def test_blind_mode_replaces_ids_names_handles_and_emails_in_free_text():
    blind = redaction(PEOPLE, blind=True)
    kenji, ana = pseudonym("E1267"), pseudonym("E2")
    assert blind.labels["E1267"] == kenji and kenji.startswith("Person ")
    cases = {
        "design doc by E1267": f"design doc by {kenji}",
        "Paired with Kenji O'Brien's team": f"Paired with {kenji}'s team",
        "https://git.example/pulls?author=Kenji-OBrien&x=1": f"https://git.example/pulls?author={kenji}&x=1",
        "mail kenji.obrien@example.com or ANA@example.com": f"mail {kenji} or {ana}",
        "cc stranger@corp.example": f"cc {EMAIL_MARK}",
        "Kenji fixed it; Ana reviewed; Keller merged": (
            f"{kenji} fixed it; {SOMEONE} reviewed; {pseudonym('E3')} merged"
        ),
    }
    for text, expected in cases.items():
        assert blind(text) == expected, text


def test_blind_frame_redacts_every_text_cell_and_drops_identifying_columns():
    table = PEOPLE.assign(note=["by E2", "ok", None], score=[1.0, 2.0, 3.0])
    out = redaction(PEOPLE, blind=True).frame(table)
    assert list(out.columns) == ["employee_id", "note", "score"]
    assert out["employee_id"].tolist() == [pseudonym(i) for i in PEOPLE["employee_id"]]
    assert out["note"].tolist()[:2] == [f"by {pseudonym('E2')}", "ok"] and pd.isna(out["note"].iloc[2])
    assert table["note"].iloc[0] == "by E2"  # the input is untouched


def test_value_redacts_nested_strings():
    blind = redaction(PEOPLE, blind=True)
    assert blind.value({"who": ["E2", 3], "n": 1}) == {"who": [pseudonym("E2"), 3], "n": 1}


def test_pseudonyms_are_stable_and_unique():
    found = pseudonyms([f"E{i:05d}" for i in range(20000)])
    assert len(set(found.values())) == 20000
    assert found["E00001"] == pseudonym("E00001")


def test_complementary_suppression():
    sizes = pd.Series({"a": 3, "b": 12, "c": 9})
    assert suppressed_groups(sizes, 5).to_dict() == {"a": True, "b": False, "c": True}
    assert not suppressed_groups(pd.Series({"a": 5, "b": 40}), 5).any()


def test_blind_sizes_are_bands_that_do_not_give_the_count():
    assert [size_band(n, 5) for n in (3, 5, 12, 19, 20, 84, 99, 100, 197, 5000)] == [
        "fewer than 5", "5–19", "5–19", "5–19", "20–99", "20–99", "20–99", "100 or more", "100 or more", "100 or more"
    ]  # fmt: skip
    assert size_band(30, 25) == "25–99" and size_band(150, 120) == "120 or more"
    assert size_band(None, 5) == "size unknown"


def test_blind_group_numbers_follow_neither_the_alphabet_nor_the_size():
    groups = {"man", "woman", "nonbinary", "(not recorded)"}
    numbers = group_numbers("gender", groups)
    assert sorted(numbers.values()) == [f"group {i} (hidden in blind mode)" for i in (1, 2, 3, 4)]
    assert [g for g, _ in sorted(numbers.items(), key=lambda kv: kv[1])] != sorted(groups)
    assert group_numbers("gender", groups) == numbers  # stable: the table and every chart agree
