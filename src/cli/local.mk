libnetspec_a_SOURCES += \
	src/cli/cli.h src/cli/cli_args.c src/cli/cli_data.c \
	src/cli/cmd_check.c \
	src/cli/cmd_resolve.c
libnetspec_a_SOURCES += src/cli/cmd_schema.c
libnetspec_a_SOURCES += src/cli/cmd_train.c src/cli/cmd_eval.c
libnetspec_a_SOURCES += src/cli/cli_run.c src/cli/cmd_predict.c
libnetspec_a_SOURCES += src/cli/cmd_emit.c
