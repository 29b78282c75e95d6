"""The Demo's model: which task, which device and dtype, the loaded pipeline and its batched inference."""
