"""The Shadow Hand: joint order, fingertip pads, pybullet loading, torch FK, surface samples."""
