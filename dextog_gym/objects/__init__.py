"""Procedural articulated objects: generators, annotations, catalogue and split."""
