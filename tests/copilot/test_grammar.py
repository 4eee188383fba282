"""The built-in engine understands every workbench action from at least two phrasings, fills its
slots from the project's names, and says what to try when it does not understand."""

from __future__ import annotations

import pytest

from kroma_kit.copilot.grammar import BuiltinEngine, jsgf_grammar, parse

# (phrasing, action, expected slots subset)
CASES = [
    ("dry run the night stage for street", "dry_run", {"stage": "time", "time": "night", "scenes": ["street"]}),
    ("How much would a rainy run of the rooftop cost?", "dry_run",
     {"stage": "weather", "weather": "rain", "scenes": ["rooftop"]}),
    ("estimate the style stage with four candidates using openai", "dry_run",
     {"stage": "style", "candidates": 4, "provider": "openai"}),
    ("generate three candidates for the harbor", "run", {"candidates": 3, "scenes": ["harbor"], "stage": "style"}),
    ("Run the weather stage at night in the rain for scene 2 with the local provider", "run",
     {"stage": "weather", "time": "night", "weather": "rain", "scenes": ["room"], "provider": "local"}),
    ("render the characters stage for street and rooftop", "run",
     {"stage": "characters", "scenes": ["street", "rooftop"]}),
    ("check the quality of the outputs", "qa_check", {}),
    ("run a QA pass on street", "qa_check", {"scenes": ["street"]}),
    ("archive the bad outputs", "archive_bad", {}),
    ("move the failing images out of the way", "archive_bad", {}),
    ("remove the background of the rooftop", "postprocess", {"steps": ["bg_remove"], "scenes": ["rooftop"]}),
    ("cut out the subjects", "postprocess", {"steps": ["bg_remove"]}),
    ("upscale the outputs by four", "postprocess", {"steps": ["upscale"], "scale": 4}),
    ("enlarge everything 2x", "postprocess", {"steps": ["upscale"], "scale": 2}),
    ("apply the cinematic warm colour profile", "postprocess",
     {"steps": ["color"], "color_profile": "cinematic_warm"}),
    ("colour grade the harbor with cold rain", "postprocess",
     {"steps": ["color"], "color_profile": "cold_rain", "scenes": ["harbor"]}),
    ("make candidate 2 the winner for street", "set_winner", {"candidate": 2, "scenes": ["street"]}),
    ("pick the third take for job style_1_street", "set_winner", {"candidate": 3, "job": "style_1_street"}),
    ("build a reference sheet for the detective", "character_reference", {"character": "detective"}),
    ("I need a turnaround of courier", "character_reference", {"character": "courier"}),
    ("make the portfolio of the courier", "character_portfolio", {"character": "courier"}),
    ("show me the detective portfolio", "character_portfolio", {"character": "detective"}),
    ("sync the project", "sync_push", {}),
    ("push everything to s3", "sync_push", {}),
    ("show the costs", "show_costs", {}),
    ("how much did we spend so far?", "show_costs", {}),
    ("show the status", "show_status", {}),
    ("what's running right now", "show_status", {}),
]


@pytest.mark.parametrize("text,action,slots", CASES, ids=[c[0] for c in CASES])
def test_phrasing(ctx, text, action, slots):
    intent = parse(text, ctx)
    assert intent is not None, text
    assert intent.action == action
    for key, value in slots.items():
        assert intent.slots.get(key) == value, (key, intent.slots)


def test_every_action_has_two_phrasings():
    from kroma_kit.copilot.drafts import ACTION_TYPES, ANSWER_ACTIONS

    counts: dict[str, int] = {}
    for _, action, _ in CASES:
        counts[action] = counts.get(action, 0) + 1
    assert set(counts) == set(ACTION_TYPES) | set(ANSWER_ACTIONS)
    assert min(counts.values()) >= 2


def test_not_understood_suggests_with_project_names(ctx):
    reply = BuiltinEngine().reply("please make me a sandwich", ctx)
    assert not reply.understood and reply.draft is None
    assert reply.text.startswith("I did not understand, try:") and "street" in reply.text


def test_missing_slot_is_asked(ctx):
    reply = BuiltinEngine().reply("make it the winner", ctx)
    assert reply.draft is None and "Which candidate" in reply.text
    reply = BuiltinEngine().reply("build a reference sheet for the character", ctx)
    assert reply.draft is None and "detective" in reply.text


def test_draft_envelope_parts(ctx):
    reply = BuiltinEngine().reply("upscale street by 4", ctx)
    draft = reply.draft
    assert (draft.instruction_type, draft.action) == ("asset_edit", "postprocess")
    assert draft.execution == {"steps": ["upscale"], "upscale_scale": 4, "action": "postprocess"}
    assert draft.inputs["scenes"] == ["street"]


def test_jsgf_grammar_uses_project_names(ctx):
    grammar = jsgf_grammar(ctx, known_word=lambda word: word != "harbor")
    assert "<scene> = street | room | rooftop;" in grammar
    assert "detective | courier" in grammar


def test_jsgf_matcher_accepts_only_complete_sentences(ctx):
    from kroma_kit.copilot.grammar import complete_sentence, jsgf_matcher

    sentences = jsgf_matcher(jsgf_grammar(ctx))
    for said in ("dry run the night stage for street", "generate three candidates for rooftop",
                 "remove the background on the harbor", "upscale the outputs by four", "show the status",
                 "make candidate two the winner for street", "apply the cinematic warm color profile"):
        assert complete_sentence(sentences, said), said
    for partial in ("run in the", "remove the", "show", "", "generate three candidates for the moon"):
        assert not complete_sentence(sentences, partial), partial
