"""Task descriptions for DiffuTOG: templates x (action, part, affordance) attributes.

DexTOG (section "Task description generation") conditions the grasp diffusion model on
natural-language text built from templates over (action, part, affordance) triplets joined
by conjunction words; the task-agnostic variant drops the affordance. The paper reports
22 templates, 5 actions, 16 parts and 18 affordances but does not print them, so the
wording below is our own. Everything lives in one table so that training data, the
shipped embedding cache and the CLI default text all agree.

numpy + stdlib only: this module is imported by light-weight code (CLI validation, tests)
that must not pay for torch or the sentence encoder.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

# Grasp verbs, shared by every task: the *task* is carried by part and affordance.
ACTIONS: tuple[str, ...] = ("grasp", "hold", "grip", "take", "pick up")


@dataclass(frozen=True)
class TaskVocab:
    """Attributes of one task: the object noun, its affordance parts and what they do."""

    object_noun: str
    parts: tuple[str, ...]
    affordances: tuple[str, ...]


# The single source of truth. Keys are dextog_gym.objects.spec.CATEGORIES names.
# The first part and first affordance of each task form its canonical sentence.
TASKS: dict[str, TaskVocab] = {
    "stapler": TaskVocab(
        object_noun="stapler",
        parts=("top of the stapler", "top arm", "arm of the stapler"),
        affordances=(
            "staple the papers",
            "bind the documents",
            "fasten the sheets together",
            "click the stapler",
        ),
    ),
    "sprayer_press": TaskVocab(
        object_noun="spray bottle",
        parts=("push button", "pump head", "button of the spray bottle"),
        affordances=("spray the liquid", "dispense the soap", "press the pump down"),
    ),
    "sprayer_trigger": TaskVocab(
        object_noun="trigger sprayer",
        parts=("trigger of the sprayer", "trigger", "handle of the sprayer"),
        affordances=(
            "spray the water",
            "pull the trigger",
            "water the plants",
            "clean the window",
        ),
    ),
    "bottle": TaskVocab(
        object_noun="bottle",
        parts=("cap of the bottle", "cap", "lid", "bottle cap"),
        affordances=("open the bottle", "twist the cap off", "drink the water"),
    ),
    "pen": TaskVocab(
        object_noun="ballpoint pen",
        parts=("button of the pen", "end of the pen", "clicker of the pen"),
        affordances=("click the pen", "extend the tip", "retract the tip", "write a note"),
    ),
}

# Task-oriented templates: conjunction words vary so the model learns the attributes,
# not one fixed sentence shape. Each has exactly one {action}, {part} and {affordance}.
TEMPLATES: tuple[str, ...] = (
    "please {action} the {part} so that you can {affordance}",
    "{action} the {part}, then {affordance}",
    "I want to {affordance}; {action} the {part}",
    "{action} the {part} in order to {affordance}",
    "to {affordance}, {action} the {part}",
    "could you {action} the {part} so I can {affordance}",
    "{action} the {part} so that it is ready to {affordance}",
    "help me {affordance}: {action} the {part} first",
    "you need to {action} the {part} if you want to {affordance}",
    "{action} the {part} and get ready to {affordance}",
    "the goal is to {affordance}, so {action} the {part}",
    "first {action} the {part}, and then {affordance}",
    "in order to {affordance}, please {action} the {part}",
    "{action} the {part} because I need to {affordance}",
    "let's {affordance}: {action} the {part}",
    "would you {action} the {part}? I would like to {affordance}",
    "go ahead and {action} the {part} so we can {affordance}",
    "{action} the {part} with your fingers to {affordance}",
    "when you {action} the {part}, make sure you are able to {affordance}",
    "it is time to {affordance}, so please {action} the {part}",
    "{action} the {part} firmly, since the task is to {affordance}",
    "make sure to {action} the {part}; the aim is to {affordance}",
)

# Task-agnostic templates: the same triplet minus the affordance (paper, end of III-B).
AGNOSTIC_TEMPLATES: tuple[str, ...] = (
    "please {action} the {part}",
    "{action} the {part}",
    "could you {action} the {part}",
    "I want you to {action} the {part}",
    "{action} the {object}",
    "please {action} the {object} stably",
)

NUM_TEMPLATES = 22
NUM_AGNOSTIC_TEMPLATES = 6
NUM_ACTIONS = 5
NUM_PARTS = 16
NUM_AFFORDANCES = 18

# User-typed text longer than this is almost certainly a mistake (the encoder truncates
# at 256 word pieces anyway), and a bound keeps cache keys and logs sane.
MAX_TEXT_CHARS = 512


def _vocab(task: str) -> TaskVocab:
    """Look up a task, failing with the list of valid names (typos are the usual cause)."""
    try:
        return TASKS[task]
    except (KeyError, TypeError):
        raise ValueError(f"unknown task {task!r}; known tasks: {', '.join(TASKS)}") from None


@lru_cache(maxsize=None)
def _task_expansion(task: str) -> tuple[str, ...]:
    v = _vocab(task)
    out = {
        t.format(action=a, part=p, affordance=f)
        for t, a, p, f in itertools.product(TEMPLATES, ACTIONS, v.parts, v.affordances)
    }
    return tuple(sorted(out))


@lru_cache(maxsize=None)
def _agnostic_expansion(task: str) -> tuple[str, ...]:
    v = _vocab(task)
    out: set[str] = set()
    for t, a in itertools.product(AGNOSTIC_TEMPLATES, ACTIONS):
        if "{object}" in t:
            out.add(t.format(action=a, object=v.object_noun))
        else:
            out.update(t.format(action=a, part=p) for p in v.parts)
    return tuple(sorted(out))


def task_sentences(task: str) -> list[str]:
    """Every distinct task-oriented sentence for ``task`` (sorted, deduplicated)."""
    return list(_task_expansion(task))


def agnostic_sentences(task: str) -> list[str]:
    """Every distinct task-agnostic sentence for ``task`` (no affordance)."""
    return list(_agnostic_expansion(task))


def sample_sentences(
    task: str, n: int, rng: np.random.Generator, agnostic: bool = False
) -> list[str]:
    """``n`` sentences drawn with replacement; the same rng state gives the same list."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    pool = _agnostic_expansion(task) if agnostic else _task_expansion(task)
    idx = rng.integers(0, len(pool), size=int(n))
    return [pool[i] for i in idx]


def canonical_sentence(task: str) -> str:
    """The default description when the user gives none.

    Built from the first template/action/part/affordance so it is itself one of the
    training sentences: the model is never asked about text it has not seen.
    """
    v = _vocab(task)
    return TEMPLATES[0].format(action=ACTIONS[0], part=v.parts[0], affordance=v.affordances[0])


def check_text(text: object) -> str:
    """Validate user-typed task text and return it stripped.

    Rejects what would silently produce a meaningless embedding: non-strings, empty text,
    over-long text and control characters (pasted binary, terminal escapes).
    """
    if not isinstance(text, str):
        raise ValueError(f"task text must be a str, got {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise ValueError("task text is empty (or only whitespace); describe the task in words")
    if len(stripped) > MAX_TEXT_CHARS:
        raise ValueError(
            f"task text is {len(stripped)} characters long; the limit is {MAX_TEXT_CHARS}"
        )
    for i, ch in enumerate(stripped):
        if not ch.isspace() and (ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0):
            raise ValueError(f"task text contains control character {ch!r} at position {i}")
    return stripped
