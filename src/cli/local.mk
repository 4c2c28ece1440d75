# cli: arguments in, text out; one file per command. Not part of libnetspec: only the netspec
# binary links it, and no test does.
netspec_SOURCES += \
	src/cli/cli.h src/cli/cli_args.c \
	src/cli/cmd_check.c src/cli/cmd_resolve.c src/cli/cmd_schema.c \
	src/cli/cmd_train.c src/cli/cmd_eval.c src/cli/cmd_predict.c src/cli/cmd_emit.c
