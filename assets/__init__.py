"""Run-time data of dextog_gym, installed as ``dextog_gym.assets`` (found by ``dextog_gym.paths``).

This folder holds data only: the Shadow Hand URDF and meshes, the 80 generated objects with their
annotations and split, the shipped grasp sets and the DiffuTOG models. It is a package so that a
wheel carries it and ``importlib.resources`` finds it wherever the distribution is installed.
"""
