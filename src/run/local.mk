# run: a training run's directory from creation to finish (manifest, metrics, curves, summary).
libnetspec_a_SOURCES += \
	src/run/run.c src/run/run.h src/run/run_dir.c src/run/run_dir.h src/run/run_curves.c
