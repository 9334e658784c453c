"""``--objects`` in one syntax for every command and API: splits, categories and ids, comma-separated.

``seen``, ``unseen``, ``all``, a category (``stapler``) or an object id (``stapler_003``); items mix freely
(``stapler,pen_001``). Commands that run one task read the task's share of the selection; commands that
cover every task group it per task (``--max-objects`` cuts each task's share).
"""

from __future__ import annotations

from dextog_gym.objects.catalog import get_object, list_objects
from dextog_gym.objects.spec import CATEGORIES, SPLIT_CHOICES

EMPTY = "the object selection is empty; give seen, unseen, all, categories or object ids (comma-separated)"


def items_of(spec: str | list[str] | tuple[str, ...]) -> list[str]:
    raw = spec.split(",") if isinstance(spec, str) else list(spec)
    items = [str(t).strip() for t in raw if str(t).strip()]
    if not items:
        raise ValueError(EMPTY)
    return items


def resolve_object_ids(spec: str | list[str] | tuple[str, ...], task: str | None = None) -> list[str]:
    """Object ids, catalogue order kept, each once. With ``task``, splits and categories give that task's
    objects only (a category other than ``task`` is an error); ids are kept for the env to check."""
    ids: list[str] = []
    for item in items_of(spec):
        if item in SPLIT_CHOICES:
            ids += list_objects(task, item)
        elif item in CATEGORIES:
            if task is not None and item != task:
                raise ValueError(f"objects {item!r}: this run is the {task} task; give {task} objects")
            ids += list_objects(category=item)
        else:
            ids.append(get_object(item).id)  # an unknown id is a clear error naming the catalogue
    return list(dict.fromkeys(ids))


def for_task(spec: str | list[str], task: str) -> str | list[str]:
    """What a one-task env takes: a single split name as is (results record the split), else the ids."""
    if isinstance(spec, str) and spec.strip() in SPLIT_CHOICES:
        return spec.strip()
    return resolve_object_ids(spec, task)


def select_objects(spec: str | list[str], max_objects: int | None = None) -> list[str]:
    """Ids over every task, grouped per task in the tasks' order (stapler first, as the tables), each task's
    share cut to its first ``max_objects``. Runs that seed per position see the same order every time."""
    if max_objects is not None and max_objects < 1:
        raise ValueError(f"max objects must be at least 1, not {max_objects}")
    per_task: dict[str, list[str]] = {task: [] for task in CATEGORIES}
    for obj_id in resolve_object_ids(spec):
        per_task[get_object(obj_id).category].append(obj_id)
    return [i for ids in per_task.values() for i in (ids if max_objects is None else ids[:max_objects])]
