"""The copilot: a chat that turns text and voice into confirmed agent instructions, and the worker
that executes them.

- :mod:`.context` what the copilot knows about a project (scenes, characters, profiles, settings)
- :mod:`.drafts` the typed reply of an engine and the §9.2 envelope
- :mod:`.grammar` the built-in, offline engine (a deterministic grammar of the workbench's actions)
- :mod:`.llm` the OpenAI-compatible chat-completions engine with tool calling
- :mod:`.guardrails` project scope, allowed types, confirmation policy
- :mod:`.service` one chat turn: message -> reply -> draft instruction with a dry-run estimate
- :mod:`.executors`, :mod:`.dispatch`, :mod:`.worker` running instructions (in-process or remote)
- :mod:`.voice` speech to text and text to speech, every request recorded
"""
