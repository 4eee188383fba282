"""The built-in copilot engine: a deterministic grammar of the workbench's actions, offline.

A message is normalised (lower case, number words to digits, "colour" -> "color"), matched
against the actions in a fixed order (the most specific first), and its slots are filled from the
project's own names: scene stems from the manifest, character codes, colour profiles. What does not
match gets "I did not understand, try: ..." with examples built from the project's names.

The same vocabulary generates the JSGF grammar the offline speech recogniser listens with
(:func:`jsgf_grammar`), so what can be said is what can be understood.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from kroma_kit.config import STAGES
from kroma_kit.copilot.context import ProjectContext
from kroma_kit.copilot.drafts import ACTION_TYPES, EngineReply, InstructionDraft

NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                "nine": 9, "ten": 10, "a couple of": 2, "a pair of": 2, "single": 1}
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6}


@dataclass
class Intent:
    """One parsed message: the action and its filled slots."""

    action: str
    slots: dict[str, Any] = field(default_factory=dict)


def normalise(text: str) -> str:
    out = text.lower().replace("colour", "color").replace("’", "'")
    out = re.sub(r"[^a-z0-9_\-'. ]+", " ", out)
    out = re.sub(r"\bq\.? ?a\b", "qa", out)
    for words, number in sorted(NUMBER_WORDS.items(), key=lambda item: -len(item[0])):
        out = re.sub(rf"\b{words}\b", str(number), out)
    for words, number in ORDINALS.items():
        out = re.sub(rf"\b{words}\b", str(number), out)
    out = re.sub(r"\b(\d+)(st|nd|rd|th)\b", r"\1", out)
    out = re.sub(r"(?<=\D)\.|\.(?=\D|$)", " ", out)
    return re.sub(r"\s+", " ", out).strip()


def _has(pattern: str, text: str) -> bool:
    return re.search(pattern, text) is not None


# (action, test) in priority order: specific verbs before the generic "run"/"show".
def _matchers(ctx: ProjectContext) -> list[tuple[str, Any]]:
    char_names = "|".join(map(re.escape, ctx.characters)) or "(?!x)x"
    return [
        ("sync_push", lambda t: _has(r"\b(sync|synchronize|push|upload|back ?up)\b", t)
         and not _has(r"\bcandidate", t)),
        ("character_portfolio", lambda t: _has(r"\bportfolio\b", t)),
        ("character_reference", lambda t: _has(r"\b(reference sheet|ref sheet|turnaround|model sheet)\b", t)
         or (_has(r"\breference\b", t) and _has(rf"\b(character|{char_names})\b", t))),
        ("set_winner", lambda t: _has(r"\bwinner\b|\bwinning\b", t)
         or (_has(r"\b(pick|choose|approve|select|prefer|keep)\b", t) and _has(r"\b(candidate|take|version)\b", t))),
        ("archive_bad", lambda t: _has(r"\barchive\b", t)
         or (_has(r"\b(move|put|clear|get rid of)\b", t) and _has(r"\b(bad|failing|failed|broken|rejected)\b", t))),
        ("postprocess:bg_remove", lambda t: _has(r"\b(remove|cut out|strip|drop|erase|delete)\b.*\bbackgrounds?\b", t)
         or _has(r"\b(background removal|cut ?outs?|cutouts?)\b", t)),
        ("postprocess:upscale", lambda t: _has(r"\b(upscale|upscaled|upsample|enlarge|super ?resolution)\b", t)
         or _has(r"\bscale (it |them |the \w+ )?up\b", t)),
        ("postprocess:color", lambda t: _has(r"\b(color|grade|grading|tint)\b", t)
         and not _has(r"\b(run|generate|render)\b.*\bstage\b", t)),
        ("qa_check", lambda t: _has(r"\b(qa|quality|audit|inspect|guard)\b", t)
         or (_has(r"\bcheck\b", t) and not _has(r"\b(cost|spent|status)\b", t))),
        ("dry_run", lambda t: _has(r"\b(dry|estimate|preview|simulate)\b", t)
         or _has(r"\bhow much (would|will|does|is)\b", t) or _has(r"\bwhat would\b.*\bcost\b", t)
         or _has(r"\bplan\b", t)),
        ("run", lambda t: (_has(r"\b(run|generate|render|redo)\b", t)
                           or (_has(r"\b(make|create|draw|produce|start)\b", t)
                               and (_has(r"\b(stage|candidates?|images?|panels?|scenes?|night|rain)\b", t)
                                    or bool(_scenes(t, ctx)))))
         and not _has(r"\b(status|running|queue)\b", t)),
        ("show_costs", lambda t: _has(r"\b(costs?|spent|spend|spending|money|budget|bill)\b", t)),
        ("show_status", lambda t: _has(r"\b(status|progress|queue|queued|running|pending|happening|going on)\b",
                                       t)),
    ]


def parse(text: str, ctx: ProjectContext) -> Intent | None:
    """The intent of ``text`` in the project ``ctx``, or ``None`` when no action matches."""
    norm = normalise(text)
    if not norm:
        return None
    for name, test in _matchers(ctx):
        if test(norm):
            action, _, step = name.partition(":")
            slots = _slots(action, norm, ctx)
            if step:
                slots["steps"] = [step]
            return Intent(action, slots)
    return None


# --------------------------------------------------------------------------- slots

def _scenes(text: str, ctx: ProjectContext) -> list[str]:
    found = [scene for scene in ctx.scenes if re.search(rf"\b{re.escape(scene)}s?\b", text)]
    for number in re.findall(r"\bscenes? (\d+)\b", text):
        index = int(number) - 1
        if 0 <= index < len(ctx.scenes) and ctx.scenes[index] not in found:
            found.append(ctx.scenes[index])
    return found


def _pipeline_slots(text: str, ctx: ProjectContext) -> dict[str, Any]:
    slots: dict[str, Any] = {}
    time = "night" if _has(r"\b(night|nighttime|evening|dark)\b", text) else (
        "day" if _has(r"\b(day|daytime|daylight|morning)\b", text) else None)
    weather = "rain" if _has(r"\b(rain|rainy|raining|wet)\b", text) else (
        "clear" if _has(r"\b(clear|sunny)\b", text) else None)
    stage_match = re.search(r"\b(style|time|weather|characters?)\b (stage|pass)\b|\bstage (style|time|weather|"
                            r"characters?)\b", text)
    if stage_match:
        stage = (stage_match.group(1) or stage_match.group(3)).rstrip("s")
        stage = "characters" if stage == "character" else stage
    elif weather == "rain":
        stage = "weather"
    elif time == "night":
        stage = "time"
    else:
        stage = "style"
    assert stage in STAGES
    slots["stage"] = stage
    slots["time"] = time or "day"
    slots["weather"] = weather or "clear"
    count = re.search(r"\b(\d+) (candidates?|variants?|versions?|options?|takes?|images?|alternatives?)\b", text)
    if count:
        slots["candidates"] = int(count.group(1))
    if _has(r"\b(openai|gpt|paid)\b", text):
        slots["provider"] = "openai"
    elif _has(r"\blocal\b", text):
        slots["provider"] = "local"
    return slots


def _scale(text: str) -> int:
    match = re.search(r"\b(?:x|by|times|factor(?: of)?) ?(\d)\b|\b(\d) ?(?:x|times)\b", text)
    if match:
        return 4 if int(match.group(1) or match.group(2)) >= 3 else 2
    if _has(r"\b(quadruple|4k)\b", text):
        return 4
    return 2


def _slots(action: str, text: str, ctx: ProjectContext) -> dict[str, Any]:
    slots: dict[str, Any] = {}
    scenes = _scenes(text, ctx)
    if scenes:
        slots["scenes"] = scenes
    if action in ("dry_run", "run"):
        slots.update(_pipeline_slots(text, ctx))
    elif action == "postprocess":
        slots["scale"] = _scale(text)
        for profile in sorted(ctx.color_profiles, key=len, reverse=True):
            if re.search(rf"\b{re.escape(profile).replace('_', '[ _]')}\b", text):
                slots["color_profile"] = profile
                break
    elif action == "set_winner":
        number = re.search(r"\b(?:candidate|take|version|number|#) ?(\d+)\b|\b(\d+) (?:candidate|take|version)\b",
                           text)
        if number:
            slots["candidate"] = int(number.group(1) or number.group(2))
        run = re.search(r"\brun ([0-9a-f][0-9a-f\-]{5,})\b", text)
        if run:
            slots["run_id"] = run.group(1)
        job = re.search(r"\bjob ([a-z0-9_]+)\b", text)
        if job:
            slots["job"] = job.group(1)
    elif action in ("character_reference", "character_portfolio"):
        for code in ctx.characters:
            if re.search(rf"\b{re.escape(code)}\b", text):
                slots["character"] = code
                break
    return slots


# --------------------------------------------------------------------------- drafts

def draft_for(intent: Intent, ctx: ProjectContext) -> InstructionDraft:
    """The instruction that carries out ``intent`` (not for the read-only answer actions)."""
    s = intent.slots
    kind = ACTION_TYPES[intent.action]
    scenes = s.get("scenes") or []
    where = f" for {', '.join(scenes)}" if scenes else ""
    if intent.action in ("dry_run", "run"):
        execution = {k: s[k] for k in ("stage", "time", "weather", "candidates", "provider") if k in s}
        verb = "Estimate" if intent.action == "dry_run" else "Run"
        extras = [f"{s['candidates']} candidates" if "candidates" in s else "", s.get("provider", "")]
        objective = (f"{verb} the {s['stage']} stage ({s['time']}, {s['weather']}){where}"
                     + "".join(f", {e}" for e in extras if e))
        return InstructionDraft(kind, intent.action, objective, inputs={"scenes": scenes}, execution=execution,
                                constraints={"max_candidates": ctx.max_candidates,
                                             "budget_per_run_usd": ctx.budget_per_run_usd})
    if intent.action == "qa_check":
        return InstructionDraft(kind, "qa_check", f"Check the quality of the outputs{where}",
                                inputs={"path": "outputs", "scenes": scenes})
    if intent.action == "archive_bad":
        return InstructionDraft(kind, "archive_bad", f"Move the outputs that fail QA{where} to archive/bad",
                                inputs={"path": "outputs", "scenes": scenes}, execution={"failing_only": True})
    if intent.action == "postprocess":
        step = s["steps"][0]
        execution: dict[str, Any] = {"steps": s["steps"]}
        if step == "upscale":
            execution["upscale_scale"] = s["scale"]
            what = f"Upscale the outputs x{s['scale']}"
        elif step == "color":
            execution["color_profile"] = s.get("color_profile") or "neutral"
            what = f"Colour-correct the outputs with the {execution['color_profile']} profile"
        else:
            what = "Remove the background of the outputs"
        return InstructionDraft(kind, "postprocess", what + where, inputs={"path": "outputs", "scenes": scenes},
                                execution=execution)
    if intent.action == "set_winner":
        inputs = {"run_id": s.get("run_id", "latest"), "job": s.get("job"), "scenes": scenes,
                  "candidate": s.get("candidate")}
        return InstructionDraft(kind, "set_winner",
                                f"Make candidate {s.get('candidate', '?')} the winner{where or ' of ' + str(s.get('job'))}",
                                inputs=inputs)
    if intent.action in ("character_reference", "character_portfolio"):
        what = "reference sheet" if intent.action == "character_reference" else "portfolio"
        return InstructionDraft(kind, intent.action, f"Build the {what} of character {s.get('character', '?')}",
                                inputs={"character": s.get("character")})
    return InstructionDraft(kind, "sync_push", "Push the project's files to its remote storage",
                            inputs={"path": "."}, execution={"direction": "push"})


def missing_slots(intent: Intent, ctx: ProjectContext) -> str | None:
    """A question to ask instead of drafting, when a required slot is empty."""
    if intent.action == "set_winner" and "candidate" not in intent.slots:
        return "Which candidate should win? Say for example: make candidate 2 the winner for " \
               f"{(ctx.scenes or ['street'])[0]}."
    if intent.action == "set_winner" and not intent.slots.get("scenes") and not intent.slots.get("job"):
        return f"For which scene? Say for example: make candidate {intent.slots['candidate']} the winner for " \
               f"{(ctx.scenes or ['street'])[0]}."
    if intent.action in ("character_reference", "character_portfolio") and "character" not in intent.slots:
        known = ", ".join(ctx.characters) or "none yet"
        return f"Which character? Known characters: {known}."
    return None


def examples(ctx: ProjectContext) -> list[str]:
    scene = (ctx.scenes or ["street"])[0]
    other = (ctx.scenes or ["street", "rooftop"])[-1]
    character = (ctx.characters or ["detective"])[0]
    return [f"dry run the night stage for {scene}", f"generate 3 candidates for {other}", "check the quality",
            "archive the bad outputs", "remove the background", "upscale by 4",
            "apply the cinematic warm color profile", f"make candidate 2 the winner for {scene}",
            f"build a reference sheet for {character}", "sync the project", "show the costs", "show the status"]


class BuiltinEngine:
    """Offline, deterministic: same message and project, same reply."""

    name = "builtin"

    def reply(self, text: str, ctx: ProjectContext, history: list[dict[str, Any]] | None = None) -> EngineReply:
        intent = parse(text, ctx)
        if intent is None:
            tries = "; ".join(f"'{e}'" for e in examples(ctx)[:6])
            return EngineReply(f"I did not understand, try: {tries}.", understood=False)
        if intent.action in ("show_costs", "show_status"):
            return EngineReply("", answer=intent.action)
        question = missing_slots(intent, ctx)
        if question:
            return EngineReply(question, understood=False)
        draft = draft_for(intent, ctx)
        return EngineReply(f"{draft.objective}.", draft=draft)


# --------------------------------------------------------------------------- speech grammar

def jsgf_grammar(ctx: ProjectContext, known_word: Any = None) -> str:
    """A JSGF grammar of the spoken commands, with this project's names. ``known_word(word)`` drops
    names the recogniser's dictionary cannot pronounce (a rule with an unknown word fails to load)."""
    def names(values: list[str], fallback: str) -> str:
        words = [v.replace("_", " ") for v in values]
        ok = [w for w in words if known_word is None or all(known_word(part) for part in w.split())]
        return " | ".join(ok) or fallback

    return "\n".join([
        "#JSGF V1.0;",
        "grammar kroma;",
        "<n> = one | two | three | four | five | six | seven | eight | nine | ten;",
        f"<scene> = {names(ctx.scenes, 'street')};",
        f"<character> = {names(ctx.characters, 'detective')};",
        f"<profile> = {names(ctx.color_profiles, 'neutral')};",
        "<stage> = style | time | weather | characters;",
        "<when> = day | night;",
        "<for> = [for | of | on] [the] [scene] <scene>;",
        "<dry> = (dry run | estimate) [the] [<when> | rain | <stage>] [stage] [<for>] [with <n> candidates];",
        "<run> = (run | generate | render) [the] [<n> candidates | <stage> stage | <when> stage] [<for>]"
        " [at <when>] [in the rain] [with <n> candidates];",
        "<qa> = check the quality [of the outputs] | run [a] quality check | check the outputs;",
        "<archive> = archive the (bad | failing) (outputs | images);",
        "<bg> = remove the background [<for>];",
        "<upscale> = upscale [the outputs | the images] [by <n> | times <n>];",
        "<color> = apply the <profile> color [profile];",
        "<winner> = (make | set) candidate <n> [as] the winner [<for>];",
        "<charref> = (make | build) [a] reference sheet for <character>;",
        "<portfolio> = (make | build) [the] portfolio [for | of] <character>;",
        "<sync> = (sync | push) [the project] [to storage];",
        "<costs> = show [me] the costs | how much did we spend;",
        "<status> = show [me] the status;",
        "public <command> = <dry> | <run> | <qa> | <archive> | <bg> | <upscale> | <color> | <winner> | <charref>"
        " | <portfolio> | <sync> | <costs> | <status>;",
        "",
    ])


def jsgf_matcher(grammar: str) -> re.Pattern[str]:
    """A regular expression that accepts exactly the sentences of ``grammar`` (the JSGF subset
    :func:`jsgf_grammar` writes: words, ``|``, ``[...]``, ``(...)``, ``<rule>``).

    The recogniser returns its best *partial* path when speech is out of grammar ("run in the"
    for "what a lovely day it is"); only a complete sentence counts as heard.
    """
    rules: dict[str, str] = {}
    public = ""
    for line in grammar.split(";"):
        match = re.match(r"\s*(public\s+)?<(\w+)>\s*=\s*(.*)", line.strip(), re.S)
        if match:
            rules[match.group(2)] = match.group(3).strip()
            if match.group(1):
                public = match.group(2)

    def expand(body: str, depth: int = 0) -> str:
        if depth > 20:
            raise ValueError("grammar nests too deeply")
        tokens = re.findall(r"<\w+>|[\[\]()|]|[^\s\[\]()|<>]+", body)
        out = []
        for token in tokens:
            if token.startswith("<"):
                out.append(f"(?:{expand(rules[token[1:-1]], depth + 1)})")
            elif token == "[":
                out.append("(?:")
            elif token == "]":
                out.append(")?")
            elif token == "(":
                out.append("(?:")
            elif token == ")":
                out.append(")")
            elif token == "|":
                out.append("|")
            else:
                out.append(re.escape(token) + " ")
        return "".join(out)

    return re.compile(f"(?:{expand(rules[public])})")


def complete_sentence(matcher: re.Pattern[str], text: str) -> bool:
    words = " ".join(text.lower().split())
    return bool(words) and matcher.fullmatch(words + " ") is not None
