# ops: one file per op (listed once in ops.def), the registry and the shared pooling keys.
libnetspec_a_SOURCES += \
	src/ops/op.h src/ops/ops.h src/ops/ops.def \
	src/ops/op_registry.c \
	src/ops/op_pool.c \
	src/ops/op_dense.c \
	src/ops/op_conv2d.c \
	src/ops/op_maxpool2d.c \
	src/ops/op_avgpool2d.c \
	src/ops/op_global_avgpool2d.c \
	src/ops/op_flatten.c \
	src/ops/op_reshape.c \
	src/ops/op_dropout.c \
	src/ops/op_batchnorm.c \
	src/ops/op_activation.c \
	src/ops/op_emit.c src/ops/op_emit.h \
	src/ops/op_softmax.c \
	src/ops/op_add.c \
	src/ops/op_concat.c
