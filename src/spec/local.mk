libnetspec_a_SOURCES += \
	src/spec/spec.h \
	src/spec/spec_tree.c src/spec/spec_tree.h \
	src/spec/spec_schema.c src/spec/spec_schema.h \
	src/spec/spec_validate.c \
	src/spec/spec_load.c \
	src/spec/spec_size.c src/spec/spec_size.h
libnetspec_a_SOURCES += \
	src/spec/spec_resolve.c src/spec/spec_resolve.h \
	src/spec/spec_jsonschema.c src/spec/spec_jsonschema.h \
	src/spec/spec_doc.c src/spec/spec_doc.h
