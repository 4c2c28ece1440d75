# train: losses, optimizers, schedules, initialisers, the loop and checkpoints.
libnetspec_a_SOURCES += \
	src/train/loss.c src/train/loss.h \
	src/train/optim.c src/train/optim.h \
	src/train/sched.c src/train/sched.h \
	src/train/init.c src/train/init.h \
	src/train/train_state.c src/train/train_state.h \
	src/train/checkpoint.c src/train/checkpoint.h \
	src/train/trainset.c src/train/trainset.h \
	src/train/loop.c src/train/loop.h
