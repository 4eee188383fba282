"""The reference prompt: built only from existing data with the seed's framing clause and the
style guide's rules; "Suggest" asks an OpenAI-compatible chat endpoint (fake, on loopback) with a
JSON schema and falls back to the template, saying why, when it cannot."""

from __future__ import annotations

import pytest

from kroma_kit.characters import profiles
from kroma_kit.characters.overview import prompt_for
from kroma_kit.characters.prompting import (
    FRAMING_CLAUSE,
    ChatEndpoint,
    strip_quotes,
    suggest_reference_prompt,
)
from tests.fakes.openai_chat_server import ChatReply, FakeChatServer


def test_template_uses_only_existing_data_framing_and_style_rules(workspace, chars_project):
    bare = profiles.create_character(workspace, "demo", "ghost", "The Ghost")
    prompt = suggest_reference_prompt(bare)
    assert prompt.startswith("Master reference image of The Ghost.")
    assert FRAMING_CLAUSE in prompt
    for absent in ("Hair:", "Eyes:", "Skin:", "Outfit:", "Signature colours", "Palette"):
        assert absent not in prompt  # nothing invented for empty fields
    courier = profiles.get_character(workspace, "demo", "courier")
    guide = profiles.effective_style_guide(workspace, "demo", courier)
    full = suggest_reference_prompt(courier, guide)
    for fact in ("The Courier", "teal jacket", "#c8342e", "Must keep: red cap", "Never: helmet",
                 "bold ink outlines", "Avoid: photorealistic", guide.rules.palette[0]):
        assert fact in full
    assert '"' not in full


def test_quotes_are_stripped_but_apostrophes_kept():
    assert strip_quotes('“Sam’s” "coat" is \'tan\'') == "Sams coat is tan"
    assert strip_quotes("the detective's hat") == "the detective's hat"


def test_suggest_without_endpoint_is_the_template(workspace, chars_project):
    suggestion = prompt_for(workspace, "demo", "courier", use_chat=True)
    assert suggestion.source == "template" and "OPENAI_BASE_URL" in suggestion.fallback_reason
    assert FRAMING_CLAUSE in suggestion.prompt


def test_suggest_asks_the_chat_model_with_a_json_schema(workspace, chars_project, monkeypatch):
    with FakeChatServer() as fake:
        fake.script(ChatReply.json({"prompt": 'A "moody" master reference of The Courier in a teal jacket.'}))
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        monkeypatch.setenv("OPENAI_CHAT_MODEL", "qwen-test")
        suggestion = prompt_for(workspace, "demo", "courier", use_chat=True)
    assert suggestion.source == "chat" and suggestion.model == "qwen-test"
    assert '"' not in suggestion.prompt and "moody" in suggestion.prompt
    assert FRAMING_CLAUSE in suggestion.prompt  # the model dropped it: appended
    body = fake.requests[0].body
    assert body["model"] == "qwen-test"
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"]["required"] == ["prompt"]
    assert "#c8342e" in body["messages"][1]["content"]
    assert "authorization" not in fake.requests[0].headers  # no key set: none sent


def test_a_tool_call_answer_is_accepted(workspace, chars_project):
    courier = profiles.get_character(workspace, "demo", "courier")
    with FakeChatServer() as fake:
        fake.script(ChatReply.tool_call("reference_prompt", {"prompt": f"Courier. Framing: {FRAMING_CLAUSE}"}))
        from kroma_kit.characters.prompting import suggest_prompt

        suggestion = suggest_prompt(courier, endpoint=ChatEndpoint(fake.base_url, "m", api_key="sk-x"))
    assert suggestion.source == "chat" and suggestion.prompt.count("chest-to-mid-thigh") == 1
    assert fake.requests[0].headers["authorization"] == "Bearer sk-x"


@pytest.mark.parametrize("reply, reason", [
    (ChatReply.api_error(500, "upstream exploded"), "HTTP 500: upstream exploded"),
    (ChatReply.text("Sure! Here is a prompt: hello"), "not JSON"),
    (ChatReply.json({"text": "wrong key"}), "no 'prompt'"),
    (ChatReply.refused(), "refused"),
    (ChatReply.raw(502, b"<html>bad gateway</html>"), "HTTP 502"),
])
def test_chat_failures_fall_back_to_the_template_with_the_reason(workspace, chars_project, reply, reason):
    courier = profiles.get_character(workspace, "demo", "courier")
    from kroma_kit.characters.prompting import suggest_prompt

    with FakeChatServer() as fake:
        fake.script(reply)
        suggestion = suggest_prompt(courier, endpoint=ChatEndpoint(fake.base_url, "m"))
    assert suggestion.source == "template" and reason in suggestion.fallback_reason
    assert suggestion.prompt == suggest_reference_prompt(courier)


def test_chat_timeout_falls_back(workspace, chars_project):
    courier = profiles.get_character(workspace, "demo", "courier")
    from kroma_kit.characters.prompting import suggest_prompt

    with FakeChatServer() as fake:
        fake.script(ChatReply.slow(1.0))
        suggestion = suggest_prompt(courier, endpoint=ChatEndpoint(fake.base_url, "m", timeout_s=0.2))
    assert suggestion.source == "template" and "timed out" in suggestion.fallback_reason
