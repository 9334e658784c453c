"""The papers' comparison methods, trained on DiffuTOG's data: GraspCVAE, GraspTTA*, UniDexGrasp*.

The * reading (DexTOG §V-C): the methods' grasp-type or category condition is replaced by the same
sentence embeddings DiffuTOG is conditioned on, so every learned generator here sees the same object
cloud, the same text and the same training grasps, and differs only by its model and test-time step.
"""
