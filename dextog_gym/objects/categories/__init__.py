"""One generator module per category; ``GENERATORS`` maps the category table to them."""

from __future__ import annotations

from typing import Callable

import numpy as np

from dextog_gym.objects.articulated import ObjectSpec
from dextog_gym.objects.categories import (
    bottle,
    pen,
    sprayer_press,
    sprayer_trigger,
    stapler,
)

Generator = Callable[[str, np.random.Generator], ObjectSpec]

GENERATORS: dict[str, Generator] = {
    "stapler": stapler.generate,
    "sprayer_press": sprayer_press.generate,
    "sprayer_trigger": sprayer_trigger.generate,
    "bottle": bottle.generate,
    "pen": pen.generate,
}
