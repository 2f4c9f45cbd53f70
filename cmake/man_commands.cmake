# Writes help2man's include file with every command's --help, verbatim, as a section of the man
# page:  cmake -DNABLA=path/to/nabla -DOUT=commands.h2m -P man_commands.cmake
execute_process(COMMAND ${NABLA} --help OUTPUT_VARIABLE top RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "nabla --help failed")
endif()
# The commands: the words indented by two spaces under "commands:".
string(REGEX MATCHALL "\n  [a-z]+ " lines "${top}")
set(text "[COMMANDS IN DETAIL]\n")
foreach(line ${lines})
  string(STRIP "${line}" command)
  execute_process(COMMAND ${NABLA} ${command} --help OUTPUT_VARIABLE help RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "nabla ${command} --help failed")
  endif()
  # roff: a backslash is \e; a line may not start with '.' or '\''.
  string(REPLACE "\\" "\\e" help "${help}")
  string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" help "${help}")
  string(APPEND text ".SS \"nabla ${command}\"\n.nf\n${help}.fi\n")
endforeach()
file(WRITE "${OUT}" "${text}")
