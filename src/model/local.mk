# model: a spec made concrete against its data, or a trained model loaded from a run directory.
libnetspec_a_SOURCES += \
	src/model/model.h src/model/model.c \
	src/model/model_probe.c src/model/model_load.c \
	src/model/model_memory.c
