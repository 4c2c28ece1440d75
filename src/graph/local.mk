libnetspec_a_SOURCES += src/graph/graph.c src/graph/graph.h src/graph/graph_check.c \
	src/graph/graph_plan.c src/graph/graph_plan.h
