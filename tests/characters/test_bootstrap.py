"""``kroma.bootstrap.v1``: the prompt for an outside AI, and the import of its answer with the
original parsing rules, merge/replace per section, one transaction, dry runs, change counts."""

from __future__ import annotations

import json

import pytest

from kroma_kit.characters import profiles, references
from kroma_kit.characters.bootstrap import bootstrap_import, bootstrap_prompt, parse_answer
from kroma_kit.cli.main import main
from kroma_kit.errors import InputError

ANSWER = {
    "mode": "merge",
    "settings": {
        "project": {"name": "Night City", "description": "A noir serial"},
        "provider_accounts": [{"provider_code": "OpenAI", "display_name": "Studio", "base_url": "http://gw/v1"}],
        "style_guides": [{"name": "sample noir", "instructions": "Ink only", "notes": "heavy blacks"},
                         {"name": "flashback", "instructions": "Sepia wash", "notes": ""}],
        "characters": [{"name": "The Courier", "description": "Faster than ever", "prompt_text": "courier!"},
                       {"name": "Inspector Grey", "description": "The detective's boss", "prompt_text": ""}],
        "reference_sets": [{"name": "moods", "description": "lighting moods", "items": [
            {"label": "room", "content_uri": "inputs/scenes/room.png", "content_text": "warm lamp", "sort_order": 1},
            {"label": "web", "content_uri": "https://example.com/x.png", "content_text": "", "sort_order": 2}]}],
        "secrets": [{"provider_code": "openai", "secret_name": "api_key"}],
        "prompt_templates": [{"name": "style_base", "template_text": "Ink it."}],
    },
}


def test_prompt_embeds_current_settings_and_the_expected_shape(workspace, chars_project):
    bundle = bootstrap_prompt(workspace, "demo")
    assert bundle["schema_version"] == "kroma.bootstrap.v1"
    assert {c["name"] for c in bundle["settings"]["characters"]} == {"The Courier", "The Detective"}
    assert "never include secret values" in bundle["prompt"] and "#c8342e" in bundle["prompt"]
    assert bundle["expected_response"]["settings"]["characters"][0] == {"name": "", "description": "",
                                                                        "prompt_text": ""}


def test_merge_applies_each_section_and_counts_changes(workspace, chars_project):
    text = "Here you go:\n```json\n" + json.dumps(ANSWER) + "\n```\nCheers"
    result = bootstrap_import(workspace, "demo", ai_response_text=text)
    changes = result["changes"]
    assert result["mode"] == "merge" and result["project_updated"] is True
    assert changes["style_guides"] == {"provided": 2, "replaced": False, "before_count": 1, "after_count": 2,
                                       "created": 1, "updated": 1, "deleted": 0, "unchanged": 0}
    assert changes["characters"]["created"] == 1 and changes["characters"]["updated"] == 1
    assert changes["characters"]["after_count"] == 3
    assert changes["provider_accounts"]["created"] == 1 and changes["secrets"]["provided"] == 1
    assert result["applied"]["reference_sets"] == 1 and result["project"]["name"] == "Night City"
    courier = profiles.get_character(workspace, "demo", "courier")
    assert courier.bio == "Faster than ever" and courier.metadata["prompt_text"] == "courier!"
    assert courier.identity.signature_colors == ["#2c7a96", "#c8342e", "#e6b428"]  # kept
    assert profiles.get_character(workspace, "demo", "inspector_grey").name == "Inspector Grey"
    moods = references.get_reference_set(workspace, "demo", "moods")
    assert [i.path.name for i in moods.items] == ["room.png"]
    assert moods.metadata["external_items"][0]["content_uri"] == "https://example.com/x.png"
    again = bootstrap_import(workspace, "demo", settings=ANSWER)
    assert again["changes"]["characters"]["unchanged"] == 2 and again["project_updated"] is False


def test_replace_empties_only_the_sections_present(workspace, chars_project):
    answer = {"characters": [{"name": "Solo", "description": "alone"}]}
    result = bootstrap_import(workspace, "demo", settings=answer, mode="replace")
    assert result["changes"]["characters"]["deleted"] == 2 and result["changes"]["characters"]["after_count"] == 1
    assert [c.code for c in profiles.list_characters(workspace, "demo")] == ["solo"]
    assert len(profiles.list_style_guides(workspace, "demo")) == 1  # style_guides not in the answer: untouched


def test_dry_run_computes_the_same_counts_and_writes_nothing(workspace, chars_project):
    before = bootstrap_prompt(workspace, "demo")["settings"]
    dry = bootstrap_import(workspace, "demo", settings=ANSWER, dry_run=True)
    assert dry["dry_run"] and dry["changes"]["characters"]["after_count"] == 3
    assert bootstrap_prompt(workspace, "demo")["settings"] == before


def test_a_bad_entry_late_in_the_answer_leaves_nothing_half_written(workspace, chars_project):
    bad = json.loads(json.dumps(ANSWER))
    bad["settings"]["prompt_templates"] = [{"name": "style_base", "template_text": "  "}]
    before = bootstrap_prompt(workspace, "demo")["settings"]
    with pytest.raises(InputError, match="prompt_templates: template 'style_base' has an empty template_text"):
        bootstrap_import(workspace, "demo", settings=bad)
    assert bootstrap_prompt(workspace, "demo")["settings"] == before


@pytest.mark.parametrize("text, message", [
    ("I'm sorry, I cannot do that.", "Could not parse JSON"),
    ("", "empty"),
    ('{"mode": "overwrite", "settings": {}}', "Field 'mode' must be one of: merge, replace"),
    ('{"characters": {"name": "x"}}', "'characters' must be a list"),
    ('{"characters": [{"description": "no name"}]}', "needs a non-empty 'name'"),
    ('{"secrets": [{"provider_code": "openai", "secret_name": "k", "value": "sk-1"}]}', "never include secret"),
])
def test_bad_answers_get_one_line_errors(workspace, chars_project, text, message):
    with pytest.raises(InputError, match=message):
        bootstrap_import(workspace, "demo", ai_response_text=text)


def test_parsing_rules_in_order():
    assert parse_answer('{"a": 1}') == {"a": 1}
    assert parse_answer('```json\n{"a": 2}\n```') == {"a": 2}
    assert parse_answer('Sure: {"a": {"b": 3}} hope this helps') == {"a": {"b": 3}}


def test_cli_twins(workspace, chars_project, tmp_path, capsys):
    answer = tmp_path / "answer.json"
    answer.write_text(json.dumps(ANSWER))
    assert main(["project", "bootstrap-import", "--project", "demo", "--file", str(answer), "--dry-run",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["dry_run"] is True
    assert main(["project", "bootstrap-prompt", "--project", "demo", "--out", str(tmp_path / "p.txt")]) == 0
    assert "kroma.bootstrap.v1" in (tmp_path / "p.txt").read_text()
    assert main(["project", "bootstrap-import", "--project", "demo", "--text", "nope"]) == 2
    assert "Could not parse JSON" in capsys.readouterr().err
