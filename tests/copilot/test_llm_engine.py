"""The LLM engine against a fake OpenAI-compatible server: tools are the instruction types, a tool
call becomes a guarded draft, usage and cost are recorded, bad calls create nothing."""

from __future__ import annotations

import json

import pytest

from kroma_kit.copilot.llm import LLMEngine, tools_for
from tests.fakes.chat_completions_server import (
    ChatCompletionsServer,
    error_reply,
    text_reply,
    tool_call_reply,
)

CHAT = "/v1/chat/completions"


@pytest.fixture
def fake():
    with ChatCompletionsServer() as server:
        yield server


def _engine(fake) -> LLMEngine:
    from kroma_kit.providers.http import RetryPolicy

    return LLMEngine(model="gpt-4o-mini", base_url=fake.base_url, api_key="sk-test", price_input_per_1m=0.15,
                     price_output_per_1m=0.6, policy=RetryPolicy(max_attempts=3, jitter=False, sleep=lambda s: None))


def test_tools_are_exactly_the_allowed_instruction_types():
    names = [t["function"]["name"] for t in tools_for(["pipeline_run", "qa_check"])]
    assert names == ["pipeline_run", "qa_check", "answer"]
    run = tools_for(["pipeline_run"])[0]["function"]["parameters"]["properties"]["action"]["enum"]
    assert run == ["dry_run", "run"]


def test_tool_call_becomes_instruction_with_usage_and_cost(fake, workspace, demo_project):
    from kroma_kit.catalog.chat import list_messages
    from kroma_kit.copilot.service import send_message

    fake.script(CHAT, error_reply(503, "overloaded", retry_after="0"),
                tool_call_reply("asset_edit", {"action": "postprocess", "objective": "Upscale rooftop x4",
                                               "inputs": {"scenes": ["rooftop"], "path": "outputs"},
                                               "execution": {"steps": ["upscale"], "upscale_scale": 4}},
                                prompt_tokens=1000, completion_tokens=500))
    turn = send_message(workspace, "demo", "make the rooftop four times bigger", engine=_engine(fake))
    item = turn.instruction
    assert item is not None and (item.instruction_type, item.action, item.status) == ("asset_edit", "postprocess",
                                                                                      "draft")
    assert item.payload["execution"]["upscale_scale"] == 4 and item.payload["project_slug"] == "demo"
    sent = fake.requests[-1]
    assert sent.headers["authorization"] == "Bearer sk-test"
    assert {t["function"]["name"] for t in sent.json["tools"]} >= {"pipeline_run", "asset_edit", "qa_check",
                                                                   "storage_sync", "custom"}
    assert "rooftop" in sent.json["messages"][0]["content"]
    usage = turn.reply.token_usage
    assert usage["total_tokens"] == 1500 and usage["cost_usd"] == pytest.approx(0.00045)
    conn = workspace.connect()
    row = conn.execute("SELECT cost_usd, operation_code FROM cost_events WHERE event_key = ?",
                       (f"chat:{turn.reply.id}",)).fetchone()
    conn.close()
    assert row["operation_code"] == "chat" and row["cost_usd"] == pytest.approx(0.00045)
    assert [m.role for m in list_messages(workspace, turn.session.id)] == ["user", "assistant"]


def test_guardrails_apply_to_the_model(fake, workspace, demo_project):
    from kroma_kit.copilot.service import send_message

    fake.script(CHAT, tool_call_reply("qa_check", {"action": "qa_check", "objective": "check /etc",
                                                   "inputs": {"path": "/etc"}}),
                tool_call_reply("pipeline_run", {"action": "format_disk", "objective": "x"}),
                tool_call_reply("qa_check", "{not json"),
                text_reply("Hello! What should I do?"))
    outside = send_message(workspace, "demo", "check the system", engine=_engine(fake))
    assert outside.instruction is None and "outside project demo" in outside.reply.text
    unknown = send_message(workspace, "demo", "wipe it", engine=_engine(fake))
    assert unknown.instruction is None and "does not know" in unknown.reply.text
    broken = send_message(workspace, "demo", "check", engine=_engine(fake))
    assert broken.instruction is None and "not a JSON object" in broken.reply.text
    plain = send_message(workspace, "demo", "hi", engine=_engine(fake))
    assert plain.instruction is None and plain.reply.text == "Hello! What should I do?"


def test_allowed_types_from_settings(fake, workspace, demo_project):
    from pathlib import Path

    from kroma_kit.copilot.service import send_message

    settings = Path(demo_project["root"]) / ".kroma" / "pipeline.settings.toml"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text('[copilot]\nallowed_instruction_types = ["qa_check"]\n')
    fake.script(CHAT, tool_call_reply("storage_sync", {"action": "sync_push", "objective": "push"}))
    turn = send_message(workspace, "demo", "push it", engine=_engine(fake))
    assert turn.instruction is None and "not allowed in project demo" in turn.reply.text
    tools = [t["function"]["name"] for t in fake.requests[-1].json["tools"]]
    assert tools == ["qa_check", "answer"]
    assert json.loads(json.dumps(turn.to_dict()))["instruction"] is None


def test_engine_down_keeps_the_message_and_says_why(fake, workspace, demo_project):
    from kroma_kit.catalog.chat import list_messages
    from kroma_kit.copilot.service import send_message

    fake.script(CHAT, *[error_reply(500, "model crashed")] * 3)
    turn = send_message(workspace, "demo", "check the quality", engine=_engine(fake))
    assert turn.instruction is None and "could not answer" in turn.reply.text and "model crashed" in turn.reply.text
    assert [m.role for m in list_messages(workspace, turn.session.id)] == ["user", "assistant"]


def test_answer_tool_gives_a_read_only_answer(fake, workspace, demo_project):
    from kroma_kit.copilot.service import send_message

    fake.script(CHAT, tool_call_reply("answer", {"topic": "show_status"}))
    turn = send_message(workspace, "demo", "how are things?", engine=_engine(fake))
    assert turn.instruction is None and turn.reply.text.startswith("Project demo: runs")
